import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdminUserSorts, EMERGENCY_STOP_ALL_PHRASE, VmHealths, VmStatuses } from '@twarga/contract';
import {
  ago,
  auditExportUrl,
  diffRows,
  jobLate,
  nextSort,
  pageInfo,
  readAuditFilters,
  readUsersView,
  readVmsView,
  runwayText,
  STOP_ALL_PHRASE,
  USER_SORTS,
  usersQuery,
  VM_HEALTHS,
  VM_STATUSES,
  vmsQuery,
  writeAuditFilters,
} from './params';

test("the web's copies of the contract's lists still match it", () => {
  assert.deepEqual([...USER_SORTS], [...AdminUserSorts]);
  assert.deepEqual([...VM_STATUSES], [...VmStatuses]);
  assert.deepEqual([...VM_HEALTHS], [...VmHealths]);
  assert.equal(STOP_ALL_PHRASE, EMERGENCY_STOP_ALL_PHRASE);
});

test('users view: defaults to the newest first, reads a shared link, and pages by offset', () => {
  assert.deepEqual(readUsersView(new URLSearchParams('')), { q: undefined, status: undefined, sort: 'id', order: 'desc', page: 1 });
  const v = readUsersView(new URLSearchParams('q=%20ali%20&status=inactive&sort=credits&order=asc&page=3'));
  assert.deepEqual(v, { q: 'ali', status: 'inactive', sort: 'credits', order: 'asc', page: 3 });
  assert.deepEqual(usersQuery(v), { q: 'ali', status: 'inactive', sort: 'credits', order: 'asc', limit: 50, offset: 100 });
  // A sort chosen without an order reads ascending.
  assert.equal(readUsersView(new URLSearchParams('sort=username')).order, 'asc');
});

test('users view: malformed values in a link are dropped, not sent to be refused', () => {
  const v = readUsersView(new URLSearchParams('status=everyone&sort=password_hash&order=sideways&page=-2'));
  assert.deepEqual(v, { q: undefined, status: undefined, sort: 'id', order: 'asc', page: 1 });
});

test('sorting: the same column flips, a new text column starts A→Z, numbers and dates start biggest', () => {
  const v = readUsersView(new URLSearchParams('sort=username&order=asc'));
  assert.deepEqual(nextSort(v, 'username'), { sort: 'username', order: 'desc' });
  assert.deepEqual(nextSort(v, 'email'), { sort: 'email', order: 'asc' });
  assert.deepEqual(nextSort(v, 'credits'), { sort: 'credits', order: 'desc' });
  assert.deepEqual(nextSort(v, 'last_login_at'), { sort: 'last_login_at', order: 'desc' });
});

test('page info: first and last row shown and the page count', () => {
  assert.deepEqual(pageInfo(1, 50, 0, 0), { pages: 1, first: 0, last: 0 });
  assert.deepEqual(pageInfo(1, 50, 120, 50), { pages: 3, first: 1, last: 50 });
  assert.deepEqual(pageInfo(3, 50, 120, 20), { pages: 3, first: 101, last: 120 });
});

test('VMs view: filters from the URL, bad ones dropped', () => {
  const v = readVmsView(new URLSearchParams('owner=7&host=2&status=running&health=unresponsive&q=web&page=2'));
  assert.deepEqual(vmsQuery(v), { owner_id: 7, host_id: 2, status: 'running', health: 'unresponsive', q: 'web', limit: 100, offset: 100 });
  const bad = readVmsView(new URLSearchParams('owner=abc&host=0&status=melting&health=fine'));
  assert.deepEqual(bad, { owner_id: undefined, host_id: undefined, status: undefined, health: undefined, q: undefined, page: 1 });
});

test('audit filters survive the URL and make the export link with the same filters', () => {
  const params = writeAuditFilters(new URLSearchParams('entry=9'), { action: 'users.bulk_credit', outcome: 'failed', actor_id: 1, since: '2026-11-30T10:00:00.000Z' });
  assert.equal(params.get('entry'), '9', 'other parameters stay');
  const f = readAuditFilters(params);
  assert.deepEqual(f, { actor_id: 1, action: 'users.bulk_credit', target_type: undefined, target_id: undefined, outcome: 'failed', since: '2026-11-30T10:00:00.000Z', until: undefined, q: undefined });
  const url = new URL(auditExportUrl(f, 'csv'), 'http://x');
  assert.equal(url.pathname, '/api/admin/audit/export');
  assert.deepEqual(Object.fromEntries(url.searchParams), { format: 'csv', actor_id: '1', action: 'users.bulk_credit', outcome: 'failed', since: '2026-11-30T10:00:00.000Z' });
  // Clearing a filter removes its parameter.
  assert.equal(writeAuditFilters(params, {}).has('action'), false);
  const bad = readAuditFilters(new URLSearchParams('action=DROP TABLE&outcome=maybe&since=yesterday&actor=x'));
  assert.deepEqual(Object.values(bad).filter((v) => v !== undefined), []);
});

test('ago and runway say it the way a person would', () => {
  assert.equal(ago(0.4), 'just now');
  assert.equal(ago(4), '4 s ago');
  assert.equal(ago(150), '2 min ago');
  assert.equal(ago(7300), '2 h ago');
  assert.equal(ago(200_000), '2 d ago');
  assert.equal(runwayText(null), 'nothing burns credits');
  assert.equal(runwayText(0.5), 'less than an hour');
  assert.equal(runwayText(41.7), 'about 41 hours');
  assert.equal(runwayText(100), 'about 4 days');
});

test('a job is late after two of its intervals without a run', () => {
  const now = Date.parse('2026-11-30T12:00:00.000Z');
  assert.equal(jobLate('2026-11-30T11:59:00.000Z', 60, now), false);
  assert.equal(jobLate('2026-11-30T11:57:59.000Z', 60, now), true);
  assert.equal(jobLate(null, 60, now), false, 'never ran: the server says so in its status');
});

test('audit diff: changed, added and removed fields first, unchanged ones after', () => {
  const rows = diffRows({ is_active: true, credits: 100, quota: { max_vms: null }, name: 'alice' }, { is_active: false, credits: 100, quota: { max_vms: 5, max_ram_mb: 2048 }, name: 'alice' });
  assert.deepEqual(
    rows.map((r) => [r.path, r.change, r.before, r.after]),
    [
      ['is_active', 'changed', 'true', 'false'],
      ['quota.max_vms', 'changed', 'null', '5'],
      ['quota.max_ram_mb', 'added', undefined, '2048'],
      ['credits', 'same', '100', '100'],
      ['name', 'same', '"alice"', '"alice"'],
    ],
  );
  assert.deepEqual(diffRows(null, { ids: [1, 2] }).map((r) => [r.path, r.change]), [['ids[0]', 'added'], ['ids[1]', 'added']]);
  assert.deepEqual(diffRows({ a: 1 }, null).map((r) => r.change), ['removed']);
  assert.deepEqual(diffRows(null, null), []);
});
