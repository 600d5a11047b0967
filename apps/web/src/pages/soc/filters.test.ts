import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Event } from '@twarga/contract';
import { matchesQuery, readFilters, toQuery, writeFilters } from './filters';

const event = (over: Partial<Event> = {}): Event => ({
  id: 1,
  type: 'auth',
  severity: 'warning',
  action: 'login.failed',
  code: 'login.failed',
  message: 'Failed login for mallory',
  timestamp: '2026-11-30T12:00:00.000Z',
  user_id: 7,
  username: 'mallory',
  vm_id: null,
  source_ip: '203.0.113.7',
  details: { reason: 'wrong_password', client_port: 51234 },
  count: 1,
  last_seen: '2026-11-30T12:00:00.000Z',
  ...over,
});

test('filters survive the URL: written, read back, other parameters kept', () => {
  const params = writeFilters(new URLSearchParams('tab=events&all=1'), { severity: 'critical', vm_id: 12, q: 'brute force', source_ip: '198.51.100.7', from: '2026-11-30T10:00:00.000Z' });
  assert.equal(params.get('tab'), 'events');
  assert.equal(params.get('all'), '1');
  assert.deepEqual(readFilters(params), { type: undefined, severity: 'critical', code: undefined, vm_id: 12, source_ip: '198.51.100.7', from: '2026-11-30T10:00:00.000Z', to: undefined, q: 'brute force' });
  // Clearing a filter removes its parameter.
  assert.equal(writeFilters(params, { severity: 'critical' }).has('vm'), false);
});

test('a malformed filter in a shared link is left out, not sent to be refused', () => {
  const f = readFilters(new URLSearchParams('type=nonsense&severity=loud&vm=-3&code=DROP TABLE&from=yesterday&q=%20%20'));
  assert.deepEqual(Object.values(f).filter((v) => v !== undefined), []);
});

test("an admin's own view asks for the events about them", () => {
  assert.deepEqual(toQuery({ type: 'auth' }, 3), { type: 'auth', user_id: 3 });
  assert.deepEqual(toQuery({ type: 'auth' }), { type: 'auth' });
});

test('a pushed event joins the feed only when it matches every active filter', () => {
  const e = event();
  assert.equal(matchesQuery(e, {}), true);
  assert.equal(matchesQuery(e, { severity: 'warning', type: 'auth', code: 'login.failed', source_ip: '203.0.113.7', user_id: 7 }), true);
  assert.equal(matchesQuery(e, { severity: 'critical' }), false);
  assert.equal(matchesQuery(e, { type: 'vm' }), false);
  assert.equal(matchesQuery(e, { code: 'login.succeeded' }), false);
  assert.equal(matchesQuery(e, { vm_id: 4 }), false);
  assert.equal(matchesQuery(e, { user_id: 8 }), false, "another user's event, in an admin's own view");
  assert.equal(matchesQuery(e, { source_ip: '203.0.113.8' }), false);
  assert.equal(matchesQuery(e, { from: '2026-11-30T12:00:01.000Z' }), false);
  assert.equal(matchesQuery(e, { to: '2026-11-30T11:59:59.000Z' }), false);
});

test('search: every word, as whole tokens, in the message, user, address or details', () => {
  const e = event();
  assert.equal(matchesQuery(e, { q: 'MALLORY' }), true);
  assert.equal(matchesQuery(e, { q: 'wrong_password 51234' }), true, 'details values');
  assert.equal(matchesQuery(e, { q: '203.0.113.7' }), true, 'an address is a phrase of tokens');
  assert.equal(matchesQuery(e, { q: 'mallory eve' }), false, 'all words must match');
  assert.equal(matchesQuery(e, { q: 'mall' }), false, 'whole tokens, as the index matches');
  assert.equal(matchesQuery(e, { q: '113.7.203' }), false, 'the tokens in order');
});
