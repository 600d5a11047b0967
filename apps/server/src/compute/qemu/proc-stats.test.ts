import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cpuTimeNsOf, diskBytesOf, rssBytesOf } from './proc-stats.js';

test('CPU time from /proc/<pid>/stat counts utime + stime, even with spaces and parentheses in the name', () => {
  // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …
  const stat = '4242 (qemu (x) y) S 1 4242 4242 0 -1 4194560 5000 0 12 0 250 75 0 0 20 0 3 0 1234 1000000 4000';
  assert.equal(cpuTimeNsOf(stat), (250 + 75) * 10_000_000);
});

test('RSS from /proc/<pid>/status; query-blockstats summed over devices', () => {
  assert.equal(rssBytesOf('Name:\tqemu\nVmPeak:\t  900000 kB\nVmRSS:\t  151232 kB\nRssAnon:\t 1 kB\n'), 151232 * 1024);
  assert.throws(() => rssBytesOf('Name:\tzombie\n'), /VmRSS/);
  assert.deepEqual(diskBytesOf([{ stats: { rd_bytes: 10, wr_bytes: 20 } }, { stats: { rd_bytes: 5, wr_bytes: 0 } }, {}]), { readBytes: 15, writeBytes: 20 });
});
