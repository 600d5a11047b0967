import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import type { Action, ActionLogLine, ApiClient, StreamEvent } from '@twarga/contract';
import { CliError, EXIT } from './exit-codes.js';
import type { StreamHandlers } from './sse.js';
import { waitForAction } from './wait.js';

const action = (over: Partial<Action> = {}): Action => ({
  id: 7, vm_id: 3, user_id: 1, type: 'create', status: 'in-progress', started_at: '2026-01-01T00:00:00.000Z', completed_at: null, error: null, forced: false, ...over,
});
const line = (n: number): ActionLogLine => ({ at: `2026-01-01T00:00:0${n}.000Z`, line: `step ${n}` });

/** The server's side, controlled by the test: the action's stored state and log, and a live stream. */
function fakeServer() {
  const state = { action: action(), lines: [] as ActionLogLine[], polls: 0 };
  const client = {
    actions: {
      get: async () => (state.polls++, { ...state.action }),
      log: async () => ({ action_id: 7, lines: [...state.lines] }),
    },
  } as unknown as ApiClient;
  let handlers: StreamHandlers | undefined;
  let closed = false;
  const openStream = (_url: string, _token: string, h: StreamHandlers) => {
    handlers = h;
    return { close: () => (closed = true) };
  };
  const push = (e: StreamEvent) => handlers!.onEvent(e);
  return { state, client, openStream, push, open: () => handlers!.onOpen?.(), isClosed: () => closed };
}

function stderr() {
  const s = new PassThrough();
  let text = '';
  s.on('data', (d) => (text += d));
  return { stream: s as unknown as NodeJS.WriteStream, text: () => text };
}

const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));

describe('--wait', () => {
  test('follows the live stream: log lines as they come, each once, and ends on the action event', async () => {
    const srv = fakeServer();
    const err = stderr();
    srv.state.lines = [line(1)];
    // Polling so slow it cannot be what ends the wait: only the stream can.
    const done = waitForAction(action(), { client: srv.client, baseUrl: 'http://x', token: 't', stderr: err.stream, spinner: false, label: 'x', openStream: srv.openStream, pollMs: { streaming: 60_000, fallback: 60_000 } });
    srv.open();
    await tick();
    srv.push({ kind: 'action_log', vm_id: 3, action_id: 7, line: line(1) }); // already printed from the stored log
    srv.push({ kind: 'action_log', vm_id: 3, action_id: 7, line: line(2) });
    srv.push({ kind: 'action_log', vm_id: 99, action_id: 8, line: { at: 'z', line: 'another action' } });
    srv.state.lines = [line(1), line(2), line(3)];
    srv.state.action = action({ status: 'completed', completed_at: '2026-01-01T00:00:09.000Z' });
    srv.push({ kind: 'action', action: srv.state.action });
    const final = await done;
    assert.equal(final.status, 'completed');
    // step 3 came only in the stored log: read once more at the end.
    assert.equal(err.text(), '  step 1\n  step 2\n  step 3\n');
    assert.ok(srv.isClosed());
    assert.ok(srv.state.polls <= 2, `polled ${srv.state.polls} times`);
  });

  test('falls back to polling when the stream never opens', async () => {
    const srv = fakeServer();
    const err = stderr();
    const done = waitForAction(action(), { client: srv.client, baseUrl: 'http://x', token: 't', stderr: err.stream, spinner: false, label: 'x', openStream: srv.openStream, pollMs: { streaming: 60_000, fallback: 10 } });
    await tick(50);
    srv.state.lines = [line(1)];
    await tick(50);
    srv.state.lines = [line(1), line(2)];
    srv.state.action = action({ status: 'completed' });
    const final = await done;
    assert.equal(final.status, 'completed');
    assert.equal(err.text(), '  step 1\n  step 2\n');
    assert.ok(srv.state.polls >= 3);
  });

  test('an errored action exits 6 with its error', async () => {
    const srv = fakeServer();
    const err = stderr();
    const done = waitForAction(action(), { client: srv.client, baseUrl: 'http://x', token: 't', stderr: err.stream, spinner: false, label: 'x', openStream: srv.openStream, pollMs: { streaming: 60_000, fallback: 60_000 } });
    srv.open();
    await tick();
    srv.push({ kind: 'action', action: action({ status: 'errored', error: 'disk full' }) });
    await assert.rejects(done, (e) => e instanceof CliError && e.exitCode === EXIT.actionErrored && /create of VM 3 failed: disk full/.test(e.message));
  });

  test('gives up after --timeout with a clear error (the action goes on)', async () => {
    const srv = fakeServer();
    const done = waitForAction(action(), { client: srv.client, baseUrl: 'http://x', token: 't', stderr: stderr().stream, spinner: false, label: 'x', openStream: srv.openStream, pollMs: { streaming: 5, fallback: 5 }, timeoutMs: 50 });
    await assert.rejects(done, (e) => e instanceof CliError && /gave up waiting for action 7/.test(e.message));
    assert.ok(srv.isClosed());
  });
});
