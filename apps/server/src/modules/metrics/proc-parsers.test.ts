import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cpuPercent, parseCpuMhz, parseDiskstats, parseLoadavg, parseMeminfo, parseNetDev, parseProcStat, parseUptime, rate } from './proc-parsers.js';

const STAT_A = `cpu  100 0 100 800 0 0 0 0 0 0
cpu0 50 0 50 400 0 0 0 0 0 0
cpu1 50 0 50 400 0 0 0 0 0 0
intr 12345 0 0
ctxt 999
`;
const STAT_B = `cpu  250 0 150 900 100 0 0 0 0 0
cpu0 200 0 100 400 0 0 0 0 0 0
cpu1 50 0 50 500 100 0 0 0 0 0
`;

describe('/proc parsers', () => {
  test('/proc/stat: total and per-core busy share from two readings; idle includes iowait', () => {
    const a = parseProcStat(STAT_A);
    const b = parseProcStat(STAT_B);
    assert.equal(a.cores.length, 2);
    // total: Δ 400 jiffies, Δ idle+iowait 200 → 50 %
    assert.equal(cpuPercent(a.total, b.total), 50);
    // cpu0 busy the whole time, cpu1 idle (100 idle + 100 iowait)
    assert.equal(cpuPercent(a.cores[0]!, b.cores[0]!), 100);
    assert.equal(cpuPercent(a.cores[1]!, b.cores[1]!), 0);
    assert.equal(cpuPercent(a.total, a.total), null, 'no time passed: unknown, not 0');
    assert.throws(() => parseProcStat('intr 1\n'));
  });

  test('/proc/meminfo: used = total − available, swap in bytes; old kernels without MemAvailable', () => {
    const m = parseMeminfo('MemTotal:        2048000 kB\nMemFree:          100000 kB\nMemAvailable:    1024000 kB\nBuffers: 1 kB\nSwapTotal:       1000000 kB\nSwapFree:         750000 kB\nHugePages_Total: 0\n');
    assert.equal(m.totalBytes, 2048000 * 1024);
    assert.equal(m.usedBytes, 1024000 * 1024);
    assert.equal(m.swapUsedBytes, 250000 * 1024);
    const old = parseMeminfo('MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 250 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n');
    assert.equal(old.availableBytes, 400 * 1024);
    assert.throws(() => parseMeminfo('MemFree: 1 kB\n'), /MemTotal/);
  });

  test('/proc/diskstats: whole disks only, sectors of 512 bytes', () => {
    const text = [
      '   8       0 sda 100 0 2000 0 50 0 4000 0 0 0 0 0 0 0 0 0 0',
      '   8       1 sda1 90 0 1800 0 45 0 3900 0 0 0 0',
      ' 259       0 nvme0n1 10 0 80 0 5 0 16 0 0 0 0',
      ' 259       1 nvme0n1p1 10 0 80 0 5 0 16 0 0 0 0',
      '   7       0 loop0 5 0 10 0 0 0 0 0 0 0 0',
      ' 253       0 dm-0 5 0 10 0 0 0 0 0 0 0 0',
      ' 252       0 vda 1 0 8 0 2 0 16 0 0 0 0',
    ].join('\n');
    const d = parseDiskstats(text);
    assert.deepEqual(d.map((x) => x.name), ['sda', 'nvme0n1', 'vda']);
    assert.deepEqual(d[0], { name: 'sda', readOps: 100, readBytes: 2000 * 512, writeOps: 50, writeBytes: 4000 * 512 });
  });

  test('/proc/net/dev: rx and tx bytes per interface', () => {
    const text = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 1000 10 0 0 0 0 0 0 1000 10 0 0 0 0 0 0
  eth0: 123456 100 0 0 0 0 0 0 654321 200 0 0 0 0 0 0
`;
    assert.deepEqual(parseNetDev(text), [{ name: 'lo', rxBytes: 1000, txBytes: 1000 }, { name: 'eth0', rxBytes: 123456, txBytes: 654321 }]);
  });

  test('loadavg, uptime, cpu MHz, rates', () => {
    assert.deepEqual(parseLoadavg('0.52 0.58 0.59 1/467 12345\n'), { load1: 0.52, load5: 0.58, load15: 0.59 });
    assert.equal(parseUptime('350735.47 234388.90\n'), 350735.47);
    assert.equal(parseCpuMhz('processor : 0\ncpu MHz\t\t: 2000.000\nprocessor : 1\ncpu MHz\t\t: 3000.000\n'), 2500);
    assert.equal(parseCpuMhz('processor : 0\nBogoMIPS : 100\n'), null);
    assert.equal(rate(undefined, 100, 5), null, 'first sample: no rate');
    assert.equal(rate(100, 50, 5), null, 'counter reset: no rate');
    assert.equal(rate(100, 600, 5), 100);
  });
});
