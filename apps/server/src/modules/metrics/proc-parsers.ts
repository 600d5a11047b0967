/**
 * Pure parsers of Linux /proc files (tested with fixture text). Counters stay counters here:
 * rates are made by the samplers from two readings.
 */

export interface CpuTimes {
  /** All jiffies (user…steal; guest time is already inside user/nice). */
  total: number;
  /** idle + iowait. */
  idle: number;
}

/** /proc/stat: the aggregate "cpu" line and one per core ("cpu0", "cpu1"…). */
export function parseProcStat(text: string): { total: CpuTimes; cores: CpuTimes[] } {
  let total: CpuTimes | undefined;
  const cores: CpuTimes[] = [];
  for (const line of text.split('\n')) {
    const m = /^cpu(\d*)\s+(.*)$/.exec(line);
    if (!m) continue;
    // user nice system idle iowait irq softirq steal guest guest_nice: guest* are counted in user/nice already.
    const f = m[2]!.trim().split(/\s+/).map(Number).slice(0, 8);
    const times = { total: f.reduce((a, b) => a + b, 0), idle: (f[3] ?? 0) + (f[4] ?? 0) };
    if (m[1] === '') total = times;
    else cores[Number(m[1])] = times;
  }
  if (!total) throw new Error('/proc/stat has no cpu line');
  return { total, cores };
}

/** Busy share between two readings, in percent; null when no time passed. */
export function cpuPercent(prev: CpuTimes, cur: CpuTimes): number | null {
  const dt = cur.total - prev.total;
  if (dt <= 0) return null;
  return clampPercent((100 * (dt - (cur.idle - prev.idle))) / dt);
}

export const clampPercent = (p: number) => Math.min(100, Math.max(0, p));

/** /proc/loadavg */
export function parseLoadavg(text: string): { load1: number; load5: number; load15: number } {
  const [a, b, c] = text.trim().split(/\s+/).map(Number);
  if (![a, b, c].every((x) => Number.isFinite(x))) throw new Error(`bad /proc/loadavg: ${text.slice(0, 80)}`);
  return { load1: a!, load5: b!, load15: c! };
}

/** /proc/meminfo, in bytes. "Used" is total − available (what the kernel could not hand out now). */
export function parseMeminfo(text: string): { totalBytes: number; availableBytes: number; usedBytes: number; swapTotalBytes: number; swapUsedBytes: number } {
  const kb = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\w+(?:\(\w+\))?):\s+(\d+)/.exec(line);
    if (m) kb.set(m[1]!, Number(m[2]));
  }
  const get = (k: string) => {
    const v = kb.get(k);
    if (v === undefined) throw new Error(`/proc/meminfo has no ${k}`);
    return v * 1024;
  };
  const totalBytes = get('MemTotal');
  // MemAvailable exists since Linux 3.14; older kernels: free + buffers + cached.
  const availableBytes = kb.has('MemAvailable') ? get('MemAvailable') : get('MemFree') + (kb.get('Buffers') ?? 0) * 1024 + (kb.get('Cached') ?? 0) * 1024;
  const swapTotalBytes = get('SwapTotal');
  return { totalBytes, availableBytes, usedBytes: totalBytes - availableBytes, swapTotalBytes, swapUsedBytes: swapTotalBytes - get('SwapFree') };
}

export interface DiskCounters {
  name: string;
  readOps: number;
  readBytes: number;
  writeOps: number;
  writeBytes: number;
}

/** Partitions, device-mapper, loop, ram and zram devices are not whole physical disks. */
const NOT_WHOLE_DISK = /^(loop|ram|zram|dm-|md|sr|fd)\d*|^(sd[a-z]+|vd[a-z]+|xvd[a-z]+|hd[a-z]+)\d+$|^nvme\d+n\d+p\d+$|^mmcblk\d+p\d+$/;

/**
 * /proc/diskstats, whole disks only (so a partition's I/O is not counted twice). Sectors are
 * always 512 bytes in this file, whatever the device's sector size.
 */
export function parseDiskstats(text: string): DiskCounters[] {
  const out: DiskCounters[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 14) continue;
    const name = f[2]!;
    if (NOT_WHOLE_DISK.test(name)) continue;
    out.push({ name, readOps: Number(f[3]), readBytes: Number(f[5]) * 512, writeOps: Number(f[7]), writeBytes: Number(f[9]) * 512 });
  }
  return out;
}

export interface NetCounters {
  name: string;
  rxBytes: number;
  txBytes: number;
}

/** /proc/net/dev: every interface (the loopback included; the sampler leaves it out of totals). */
export function parseNetDev(text: string): NetCounters[] {
  const out: NetCounters[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*([^:\s]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    const f = m[2]!.trim().split(/\s+/).map(Number);
    if (f.length < 16) continue;
    out.push({ name: m[1]!, rxBytes: f[0]!, txBytes: f[8]! });
  }
  return out;
}

/** /proc/uptime: seconds since boot. */
export function parseUptime(text: string): number {
  const v = Number(text.trim().split(/\s+/)[0]);
  if (!Number.isFinite(v)) throw new Error(`bad /proc/uptime: ${text.slice(0, 80)}`);
  return v;
}

/** /proc/cpuinfo: the mean "cpu MHz" of the cores, or null (some architectures do not print it). */
export function parseCpuMhz(text: string): number | null {
  const mhz = [...text.matchAll(/^cpu MHz\s*:\s*([\d.]+)/gm)].map((m) => Number(m[1]));
  return mhz.length ? mhz.reduce((a, b) => a + b, 0) / mhz.length : null;
}

/** Per-second rate of a counter between two readings; null without a previous reading or after a reset. */
export function rate(prev: number | undefined, cur: number, seconds: number): number | null {
  if (prev === undefined || seconds <= 0 || cur < prev) return null;
  return (cur - prev) / seconds;
}
