import { readFile, statfs } from 'node:fs/promises';
import path from 'node:path';
import type { HostMetrics } from '@twarga/contract';
import { cpuPercent, parseCpuMhz, parseDiskstats, parseLoadavg, parseMeminfo, parseNetDev, parseProcStat, parseUptime, rate, type CpuTimes } from './proc-parsers.js';

const MB = 1024 * 1024;
const GB = 1024 * MB;
const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;

interface Counters {
  at: number;
  cpu: { total: CpuTimes; cores: CpuTimes[] };
  disk: { readBytes: number; writeBytes: number; readOps: number; writeOps: number };
  net: Map<string, { rxBytes: number; txBytes: number }>;
}

/**
 * The host's metrics from /proc and statfs (async reads, no child processes). Rates come from the
 * previous reading this sampler kept: the first sample has null rates.
 */
export class HostSampler {
  private prev?: Counters;

  constructor(private readonly opts: { dataDir: string; procRoot?: string }) {}

  private read(file: string): Promise<string> {
    return readFile(path.join(this.opts.procRoot ?? '/proc', file), 'utf8');
  }

  /** keep=false reads without moving the rate baseline (a GET must not change the collector's rates). */
  async sample(now: Date, keep = true): Promise<HostMetrics> {
    const [stat, loadavg, meminfo, diskstats, netdev, uptime, cpuinfo, fs] = await Promise.all([
      this.read('stat'), this.read('loadavg'), this.read('meminfo'), this.read('diskstats'), this.read('net/dev'), this.read('uptime'),
      this.read('cpuinfo').catch(() => ''),
      statfs(this.opts.dataDir),
    ]);
    const cpu = parseProcStat(stat);
    const mem = parseMeminfo(meminfo);
    const disks = parseDiskstats(diskstats);
    const disk = disks.reduce((a, d) => ({ readBytes: a.readBytes + d.readBytes, writeBytes: a.writeBytes + d.writeBytes, readOps: a.readOps + d.readOps, writeOps: a.writeOps + d.writeOps }), { readBytes: 0, writeBytes: 0, readOps: 0, writeOps: 0 });
    const ifaces = parseNetDev(netdev);
    const cur: Counters = { at: now.getTime(), cpu, disk, net: new Map(ifaces.map((i) => [i.name, i])) };
    const prev = this.prev;
    const secs = prev ? (cur.at - prev.at) / 1000 : 0;
    if (keep) this.prev = cur;

    const fsTotal = fs.blocks * fs.bsize;
    const fsUsed = (fs.blocks - fs.bfree) * fs.bsize;
    const external = ifaces.filter((i) => i.name !== 'lo');
    const perIface = ifaces.map((i) => {
      const p = prev?.net.get(i.name);
      return { name: i.name, rx_bytes: i.rxBytes, tx_bytes: i.txBytes, rx_bytes_per_sec: rate(p?.rxBytes, i.rxBytes, secs), tx_bytes_per_sec: rate(p?.txBytes, i.txBytes, secs) };
    });
    const sumRates = (key: 'rx_bytes_per_sec' | 'tx_bytes_per_sec') => {
      const rs = perIface.filter((i) => i.name !== 'lo').map((i) => i[key]);
      return prev && rs.every((r) => r !== null) ? rs.reduce<number>((a, b) => a + (b ?? 0), 0) : null;
    };
    const rx = sumRates('rx_bytes_per_sec');
    const tx = sumRates('tx_bytes_per_sec');
    return {
      sampled_at: now.toISOString(),
      cpu: {
        usage_percent: prev ? cpuPercent(prev.cpu.total, cpu.total) : null,
        count: cpu.cores.filter(Boolean).length,
        frequency: parseCpuMhz(cpuinfo),
        per_core_percent: cpu.cores.map((c, i) => (prev?.cpu.cores[i] && c ? cpuPercent(prev.cpu.cores[i], c) : null)),
      },
      load: parseLoadavg(loadavg),
      memory: { usage_percent: round((100 * mem.usedBytes) / mem.totalBytes), used_mb: round(mem.usedBytes / MB), total_mb: round(mem.totalBytes / MB), available_mb: round(mem.availableBytes / MB) },
      swap: { usage_percent: mem.swapTotalBytes ? round((100 * mem.swapUsedBytes) / mem.swapTotalBytes) : null, used_mb: round(mem.swapUsedBytes / MB), total_mb: round(mem.swapTotalBytes / MB) },
      disk: {
        path: this.opts.dataDir,
        usage_percent: fsTotal ? round((100 * fsUsed) / fsTotal) : 0,
        used_gb: round(fsUsed / GB, 3),
        total_gb: round(fsTotal / GB, 3),
        read_bytes_per_sec: rate(prev?.disk.readBytes, disk.readBytes, secs),
        write_bytes_per_sec: rate(prev?.disk.writeBytes, disk.writeBytes, secs),
        read_iops: rate(prev?.disk.readOps, disk.readOps, secs),
        write_iops: rate(prev?.disk.writeOps, disk.writeOps, secs),
      },
      network: {
        bytes_sent: external.reduce((a, i) => a + i.txBytes, 0),
        bytes_recv: external.reduce((a, i) => a + i.rxBytes, 0),
        speed_mbps: rx !== null && tx !== null ? round(((rx + tx) * 8) / 1e6, 3) : null,
        rx_bytes_per_sec: rx,
        tx_bytes_per_sec: tx,
        interfaces: perIface,
      },
      uptime_seconds: parseUptime(uptime),
    };
  }
}
