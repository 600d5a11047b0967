import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TerminalEndReason } from '@twarga/contract';
import { describeEnd } from './end.js';

const exit = (reason: TerminalEndReason, message: string, exit_code: number | null = null) =>
  describeEnd({ kind: 'exit', message: { type: 'exit', reason, message, exit_code } });

test('detach and ordinary session ends exit 0 and say why', () => {
  assert.deepEqual(describeEnd({ kind: 'detached' }), { line: 'Detached.', exitCode: 0 });
  assert.deepEqual(exit('exited', 'the shell exited', 0), { line: 'Session ended: the shell exited. (exited, exit code 0)', exitCode: 0 });
  assert.equal(exit('idle_timeout', 'no input or output for 900 s').exitCode, 0);
  assert.match(exit('ended_by_user', 'ended by its owner').line, /^Session ended: ended by its owner\. \(ended_by_user\)$/);
  assert.equal(exit('vm_stopped', 'the VM stopped').exitCode, 0);
});

test('errors exit 1 with the server’s message and code', () => {
  assert.deepEqual(exit('backend_error', 'serial port gone'), { line: 'error: session ended: serial port gone (backend_error)', exitCode: 1 });
  assert.equal(exit('access_revoked', 'token revoked').exitCode, 1);
  assert.deepEqual(describeEnd({ kind: 'refused', code: 'ticket_expired', message: 'the ticket expired' }), { line: 'error: could not attach: the ticket expired (ticket_expired)', exitCode: 1 });
});

test('a close without a word: the close code explained, or the transport error', () => {
  assert.deepEqual(describeEnd({ kind: 'dropped', closeCode: 4411, wasReady: true }), { line: 'error: disconnected: the VM stopped (close code 4411)', exitCode: 1 });
  assert.deepEqual(describeEnd({ kind: 'dropped', closeCode: 1006, error: 'connect ECONNREFUSED 127.0.0.1:1', wasReady: false }), {
    line: 'error: could not attach: connect ECONNREFUSED 127.0.0.1:1',
    exitCode: 1,
  });
  assert.equal(describeEnd({ kind: 'dropped', closeCode: 1006, wasReady: true }).line, 'error: disconnected: the connection to the server was lost');
});

test('signals exit 128 + n, like a shell', () => {
  assert.deepEqual(describeEnd({ kind: 'signal', signal: 'SIGINT', signo: 2 }), { line: 'Interrupted by SIGINT.', exitCode: 130 });
  assert.equal(describeEnd({ kind: 'signal', signal: 'SIGTERM', signo: 15 }).exitCode, 143);
});
