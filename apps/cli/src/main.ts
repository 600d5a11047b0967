#!/usr/bin/env node
import { EXIT } from './exit-codes.js';
import { runCli } from './program.js';

// Ctrl-C: 130 like a shell. (vm ssh takes SIGINT over while ssh runs; vm console reads it as a key in raw mode.)
process.on('SIGINT', () => {
  // An action already asked for (vm create --wait…) goes on on the server; only the waiting stops.
  process.stderr.write('\ninterrupted (anything already requested goes on on the server)\n');
  process.exit(EXIT.interrupted);
});

// `twarga vm list | head -1`: a reader that goes away is not an error of ours.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env };
const code = await runCli(process.argv.slice(2), io);
// Let stdout drain (a pipe) before leaving; then exit even if a stream or timer is still open.
process.stdout.write('', () => process.exit(code));
