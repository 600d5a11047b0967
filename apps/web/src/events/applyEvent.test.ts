import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QueryClient, QueryObserver } from '@tanstack/react-query';
import type { ActionLog } from '@twarga/contract';
import { keys } from '../api';
import { applyStreamEvent, parseStreamEvent } from './applyEvent';

const line = (text: string) => ({ at: '2026-11-23T10:00:00.000Z', line: text });
const pushed = (actionId: number, text: string) => JSON.stringify({ kind: 'action_log', vm_id: 7, action_id: actionId, line: line(text) });

test('a pushed log line is appended to the log being shown, and ignored for a log nobody opened', () => {
  const qc = new QueryClient();
  qc.setQueryData<ActionLog>(keys.actionLog(1), { action_id: 1, lines: [line('Starting')] });
  for (const data of [pushed(1, '==> vm-7: Creating domain'), pushed(2, 'elsewhere')]) applyStreamEvent(qc, parseStreamEvent(data)!);
  assert.deepEqual(qc.getQueryData<ActionLog>(keys.actionLog(1))?.lines.map((l) => l.line), ['Starting', '==> vm-7: Creating domain']);
  assert.equal(qc.getQueryData(keys.actionLog(2)), undefined);
});

test('malformed log lines are not events', () => {
  for (const data of ['{"kind":"action_log","action_id":"1","line":{"line":"x"}}', '{"kind":"action_log","action_id":1}', 'not json']) {
    assert.equal(parseStreamEvent(data), undefined, data);
  }
});

test("an action's end refetches its whole log; a running action's update does not", async () => {
  const qc = new QueryClient();
  // What the server holds: the whole log, with lines the page never received as events.
  const stored = { action_id: 3, lines: [line('Starting'), line('Cloning disk'), line('Done')] };
  let fetches = 0;
  const observer = new QueryObserver<ActionLog>(qc, { queryKey: keys.actionLog(3), queryFn: async () => (++fetches === 1 ? { action_id: 3, lines: [line('Starting')] } : stored) });
  const unsubscribe = observer.subscribe(() => {});
  try {
    const settle = async (n: number) => {
      for (let i = 0; i < 50 && fetches < n; i++) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 20));
    };
    await settle(1);
    const action = { id: 3, vm_id: 7, user_id: 1, type: 'create' as const, started_at: '2026-11-23T10:00:00.000Z', completed_at: null, error: null, forced: false };
    applyStreamEvent(qc, { kind: 'action', action: { ...action, status: 'in-progress' } });
    await settle(2);
    assert.equal(fetches, 1, 'a running action does not load its log again');
    assert.deepEqual(qc.getQueryData<ActionLog>(keys.actionLog(3))?.lines.map((l) => l.line), ['Starting']);
    applyStreamEvent(qc, { kind: 'action', action: { ...action, status: 'completed', completed_at: '2026-11-23T10:00:05.000Z' } });
    await settle(2);
    assert.equal(fetches, 2, 'its end loads the log once more');
    assert.deepEqual(qc.getQueryData<ActionLog>(keys.actionLog(3))?.lines.map((l) => l.line), ['Starting', 'Cloning disk', 'Done'], 'the whole stored log, not only pushed lines');
  } finally {
    unsubscribe();
  }
});

test('a revoked stream makes everything cached load again, starting with who we are', async () => {
  const qc = new QueryClient();
  qc.setQueryData(keys.me, { id: 1, username: 'ex-admin', is_admin: true });
  qc.setQueryData(keys.vms, []);
  const event = parseStreamEvent(JSON.stringify({ kind: 'revoked', reason: 'right', message: 'your administrator rights were removed' }));
  assert.deepEqual(event, { kind: 'revoked', reason: 'right', message: 'your administrator rights were removed' });
  applyStreamEvent(qc, event!);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(qc.getQueryState(keys.me)?.isInvalidated, true);
  assert.equal(qc.getQueryState(keys.vms)?.isInvalidated, true);
});

test("an action that ends while its log loads for the first time gets its log loaded again: the stale answer never wins", async () => {
  const qc = new QueryClient();
  const l = (text: string) => line(text);
  let calls = 0;
  let releaseFirst!: (log: ActionLog) => void;
  const observer = new QueryObserver<ActionLog>(qc, {
    queryKey: keys.actionLog(5),
    queryFn: () => (++calls === 1 ? new Promise<ActionLog>((r) => (releaseFirst = r)) : Promise.resolve({ action_id: 5, lines: [l('Starting'), l('Running')] })),
  });
  const unsubscribe = observer.subscribe(() => {});
  try {
    applyStreamEvent(qc, parseStreamEvent(pushed(5, 'Running'))!); // arrives during the first load
    const action = { id: 5, vm_id: 7, user_id: 1, type: 'create' as const, started_at: '2026-11-23T10:00:00.000Z', completed_at: '2026-11-23T10:00:05.000Z', error: null, forced: false };
    applyStreamEvent(qc, { kind: 'action', action: { ...action, status: 'completed' } });
    releaseFirst({ action_id: 5, lines: [l('Starting')] }); // the first answer, older than both events
    for (let i = 0; i < 50 && qc.getQueryData<ActionLog>(keys.actionLog(5))?.lines.length !== 2; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(qc.getQueryData<ActionLog>(keys.actionLog(5))?.lines.map((x) => x.line), ['Starting', 'Running']);
    assert.ok(calls >= 2);
  } finally {
    unsubscribe();
  }
});

test('a recorded event on the stream is parsed and ignored: nothing cached changes, nothing is fetched again', async () => {
  const qc = new QueryClient();
  qc.setQueryData(keys.me, { id: 1, username: 'alice', is_admin: false });
  qc.setQueryData(keys.vms, []);
  let fetches = 0;
  const observer = new QueryObserver(qc, { queryKey: keys.vms, queryFn: async () => (fetches++, []), staleTime: Infinity });
  const unsubscribe = observer.subscribe(() => {});
  try {
    const stored = {
      id: 9, type: 'security', severity: 'warning', action: 'access.denied', message: '403 on GET /api/admin/users: admin_only', timestamp: '2026-11-30T16:00:00.000Z',
      user_id: 1, username: 'alice', vm_id: null, source_ip: '127.0.0.1', details: {}, count: 1, last_seen: '2026-11-30T16:00:00.000Z',
    };
    const event = parseStreamEvent(JSON.stringify({ kind: 'event', event: stored }));
    assert.deepEqual(event, { kind: 'event', event: stored });
    assert.equal(parseStreamEvent(JSON.stringify({ kind: 'event', event: { id: 'x' } })), undefined, 'a malformed one is dropped');
    for (let i = 0; i < 100; i++) applyStreamEvent(qc, event!);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(fetches, 0, 'no refetch, however many events arrive');
    for (const key of [keys.me, keys.vms]) assert.equal(qc.getQueryState(key)?.isInvalidated, false);
  } finally {
    unsubscribe();
  }
});

test("a snapshot action's news marks the VM's snapshot list and the all-snapshots list stale (a new row, or its size once done)", () => {
  const qc = new QueryClient();
  const list = { snapshots: [], used: 0, limit: 10, price_gb_month: 10 };
  qc.setQueryData(keys.vmSnapshots(7), list);
  qc.setQueryData(keys.snapshots, list);
  const action = { id: 4, vm_id: 7, user_id: 1, type: 'snapshot' as const, status: 'completed' as const, started_at: '2026-11-23T10:00:00.000Z', completed_at: '2026-11-23T10:00:05.000Z', error: null, forced: false };
  applyStreamEvent(qc, { kind: 'action', action });
  assert.equal(qc.getQueryState(keys.vmSnapshots(7))?.isInvalidated, true);
  assert.equal(qc.getQueryState(keys.snapshots)?.isInvalidated, true);
});
