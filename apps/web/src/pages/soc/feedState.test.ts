import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Event } from '@twarga/contract';
import { arrive, emptyFeed, LIVE_MAX, mergeFeed, pause, resume } from './feedState';

const ev = (id: number, count = 1): Event => ({
  id, type: 'auth', severity: 'info', action: 'token.created', code: 'token.created', message: `event ${id}`, timestamp: new Date(1_700_000_000_000 + id * 1000).toISOString(),
  user_id: 1, username: 'u', vm_id: null, source_ip: null, details: {}, count, last_seen: new Date(1_700_000_000_000 + id * 1000).toISOString(),
});
const ids = (events: Event[]) => events.map((e) => e.id);

test('live arrivals go on top of the loaded pages, newest first, each once', () => {
  let s = emptyFeed();
  s = arrive(s, ev(11), false);
  s = arrive(s, ev(12), false);
  s = arrive(s, ev(10), true); // the page that was loading already had it
  assert.deepEqual(ids(mergeFeed(s.live, [ev(10), ev(9), ev(8)])), [12, 11, 10, 9, 8]);
});

test('paused: new events are counted, not shown, and appear on resume', () => {
  let s = pause(arrive(emptyFeed(), ev(5), false));
  s = arrive(s, ev(6), false);
  s = arrive(s, ev(7), false);
  s = arrive(s, ev(7, 3), false); // a repeat of a pending one is still one new event
  assert.equal(s.pending.length, 2);
  assert.deepEqual(ids(mergeFeed(s.live, [ev(4)])), [5, 4], 'the list does not move while paused');
  s = resume(s);
  assert.equal(s.pending.length, 0);
  const shown = mergeFeed(s.live, [ev(4)]);
  assert.deepEqual(ids(shown), [7, 6, 5, 4]);
  assert.equal(shown[0]!.count, 3);
});

test('a folded repeat of a shown event updates its row in place, even while paused, and is not "new"', () => {
  let s = pause(emptyFeed());
  s = arrive(s, ev(4, 5), true);
  assert.equal(s.pending.length, 0);
  const shown = mergeFeed(s.live, [ev(4, 1), ev(3)]);
  assert.deepEqual(ids(shown), [4, 3]);
  assert.equal(shown[0]!.count, 5);
  // An older copy (a page loaded later with a smaller count) never wins.
  assert.equal(mergeFeed([ev(4, 5)], [ev(4, 2)])[0]!.count, 5);
  assert.equal(mergeFeed([ev(4, 2)], [ev(4, 9)])[0]!.count, 9);
});

test('the live list is bounded', () => {
  let s = emptyFeed();
  for (let i = 1; i <= LIVE_MAX + 50; i++) s = arrive(s, ev(i), false);
  assert.equal(s.live.length, LIVE_MAX);
  assert.equal(s.live[0]!.id, LIVE_MAX + 50);
});
