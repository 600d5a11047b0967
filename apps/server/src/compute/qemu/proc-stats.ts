import { readFile } from 'node:fs/promises';
import type { InstanceStats } from '../driver.js';

/** Linux reports process CPU time in USER_HZ ticks, which is 100 per second on every architecture we run. */
const TICKS_PER_SECOND = 100;

/** utime + stime of /proc/<pid>/stat (every thread of the process), in nanoseconds. */
export function cpuTimeNsOf(procStat: string): number {
  // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
  const fields = procStat.slice(procStat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // fields 14 and 15: utime, stime
  if (!Number.isFinite(ticks)) throw new Error('unexpected /proc/<pid>/stat format');
  return (ticks * 1e9) / TICKS_PER_SECOND;
}

/** VmRSS of /proc/<pid>/status, in bytes. */
export function rssBytesOf(procStatus: string): number {
  const kb = /^VmRSS:\s+(\d+)\s+kB$/m.exec(procStatus)?.[1];
  if (kb === undefined) throw new Error('no VmRSS in /proc/<pid>/status');
  return Number(kb) * 1024;
}

/** QMP query-blockstats summed over the guest's disks. */
export function diskBytesOf(blockstats: { stats?: { rd_bytes?: number; wr_bytes?: number } }[]): InstanceStats['disk'] {
  let readBytes = 0;
  let writeBytes = 0;
  for (const device of blockstats) {
    readBytes += device.stats?.rd_bytes ?? 0;
    writeBytes += device.stats?.wr_bytes ?? 0;
  }
  return { readBytes, writeBytes };
}

export async function processCounters(pid: number): Promise<Pick<InstanceStats, 'cpuTimeNs' | 'memoryRssBytes'>> {
  const [stat, status] = await Promise.all([readFile(`/proc/${pid}/stat`, 'utf8'), readFile(`/proc/${pid}/status`, 'utf8')]);
  return { cpuTimeNs: cpuTimeNsOf(stat), memoryRssBytes: rssBytesOf(status) };
}
