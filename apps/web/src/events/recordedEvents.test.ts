import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QueryClient } from '@tanstack/react-query';
import type { Event } from '@twarga/contract';
import { applyStreamEvent, parseStreamEvent } from './applyEvent';
import { subscribeRecordedEvents } from './recordedEvents';

const stored: Event = {
  id: 41, type: 'auth', severity: 'info', action: 'token.created', code: 'token.created', message: 'API token "ci" created', timestamp: '2026-11-30T12:00:00.000Z',
  user_id: 2, username: 'alice', vm_id: null, source_ip: '127.0.0.1', details: { name: 'ci' }, count: 1, last_seen: '2026-11-30T12:00:00.000Z',
};

test('a pushed {kind:"event"} reaches the feed subscribers (and none after they leave), without touching the cache', () => {
  const qc = new QueryClient();
  const got: Event[] = [];
  const off = subscribeRecordedEvents((e) => got.push(e));
  const failing = subscribeRecordedEvents(() => {
    throw new Error('a broken subscriber');
  });
  const orig = console.error;
  console.error = () => {};
  try {
    applyStreamEvent(qc, parseStreamEvent(JSON.stringify({ kind: 'event', event: stored }))!);
  } finally {
    console.error = orig;
  }
  assert.deepEqual(got, [stored], 'delivered despite a failing neighbour');
  assert.equal(qc.getQueryCache().getAll().length, 0, 'no query was created or refetched');
  off();
  failing();
  applyStreamEvent(qc, { kind: 'event', event: { ...stored, id: 42 } });
  assert.equal(got.length, 1);
});
