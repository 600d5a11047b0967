import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommandError, run } from './process.js';

test('a failed command says why first, and a long line does not push the reason out', async () => {
  // A real process whose complaint starts with a very long echo of its arguments, as QEMU's does.
  const script = "process.stderr.write('prog: ' + 'x'.repeat(5000) + ': the real reason\\n'); process.exit(3)";
  const err = await run(process.execPath, ['-e', script], { timeoutMs: 10_000 }).then(
    () => assert.fail('should fail'),
    (e: unknown) => e as CommandError,
  );
  assert.ok(err instanceof CommandError);
  assert.equal(err.exitCode, 3);
  assert.match(err.message, /^prog: x+ … x+: the real reason \(node exit 3\)$/);
  assert.ok(err.message.length < 400, `${err.message.length} characters`);
  assert.ok(!err.message.includes(process.execPath), 'the program by name, not its path');
});

test('a command that times out says so, with what it printed last', async () => {
  const err = (await run(process.execPath, ['-e', "process.stderr.write('waiting for the lock\\n'); setTimeout(() => {}, 10000)"], { timeoutMs: 500 }).catch((e: unknown) => e)) as CommandError;
  assert.equal(err.timedOut, true);
  assert.equal(err.message, 'timed out: waiting for the lock (node)');
});

test('a command that fails silently is not described by its argv; a missing program says so', async () => {
  const silent = (await run(process.execPath, ['-e', 'process.exit(4)', 'an-argument-that-must-not-show'], { timeoutMs: 10_000 }).catch((e: unknown) => e)) as CommandError;
  assert.equal(silent.message, 'no output (node exit 4)');
  const missing = (await run('/nonexistent/twarga-no-such-program', [], { timeoutMs: 10_000 }).catch((e: unknown) => e)) as CommandError;
  assert.match(missing.message, /ENOENT/);
});
