import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasLedgerFilters, ledgerExportUrl, ledgerSearch, nextCursor, readLedgerFilters, writeLedgerFilters } from './ledgerFilters';

test('ledger filters survive the URL, and the usage month beside them is kept', () => {
  const params = writeLedgerFilters(new URLSearchParams('usage=2026-10'), { kind: 'usage', vm_id: 7, month: '2026-11', q: 'web-1' });
  assert.equal(params.get('usage'), '2026-10');
  assert.equal(params.get('vm'), '7');
  assert.deepEqual(readLedgerFilters(params), { kind: 'usage', vm_id: 7, month: '2026-11', q: 'web-1' });
  const cleared = writeLedgerFilters(params, {});
  assert.equal(cleared.toString(), 'usage=2026-10');
  assert.equal(hasLedgerFilters(readLedgerFilters(cleared)), false);
});

test('a malformed filter in a shared link is left out, not sent to be refused', () => {
  const f = readLedgerFilters(new URLSearchParams('kind=first_hour&vm=-2&month=2026-13&q=%20%20'));
  assert.deepEqual(f, {});
  assert.equal(readLedgerFilters(new URLSearchParams(`q=${'x'.repeat(300)}`)).q?.length, 100, 'the API allows 100 characters');
});

test('the API query and the export carry the filters under the API names', () => {
  assert.equal(ledgerSearch({}), '');
  assert.equal(ledgerSearch({ kind: 'credit', vm_id: 3, month: '2026-11', q: 'refund outage' }, { before_id: 120, limit: 50 }), '?kind=credit&vm_id=3&month=2026-11&q=refund+outage&before_id=120&limit=50');
  assert.equal(ledgerExportUrl('csv', {}), '/api/account/ledger/export?format=csv');
  assert.equal(ledgerExportUrl('json', { vm_id: 3, month: '2026-11' }), '/api/account/ledger/export?format=json&vm_id=3&month=2026-11');
});

test('the next page cursor: the before_id, or the end', () => {
  assert.equal(nextCursor('118'), 118);
  assert.equal(nextCursor(null), null);
  assert.equal(nextCursor(''), null);
  assert.equal(nextCursor('abc'), null);
});
