// Runs test files in the order given, TWARGA_TEST_CONCURRENCY (2) at a time, with the spec reporter.
// Not `node --test`: it sorts its files, so test.sh could not choose their order.
// A file that hangs (a wait with no end, an open handle after its tests) fails with its name
// instead of holding the run until CI's limit: a file still running after
// TWARGA_TEST_FILE_TIMEOUT_MS (25 min; the longest takes about 8 here) is cancelled (SIGTERM).
// Not forceExit: it ends a file's process once the tests registered so far are done, which
// silently dropped the tests a file registers after a top-level await.
// Run it with the flags the test files need (`node --conditions=development --import tsx`):
// each file's process inherits them.
import { run } from 'node:test';
import { spec } from 'node:test/reporters';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: run-tests.mjs FILE...');
  process.exit(2);
}
const stream = run({
  files,
  concurrency: Number(process.env.TWARGA_TEST_CONCURRENCY ?? 2),
  timeout: Number(process.env.TWARGA_TEST_FILE_TIMEOUT_MS ?? 25 * 60_000),
});
stream.on('test:fail', (event) => {
  if (!event.todo) process.exitCode = 1;
});
stream.compose(spec).pipe(process.stdout);
