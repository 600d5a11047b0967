import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';

/** What the QEMU driver reads about its processes in /proc: pidfiles, identity, start time, exit. */

/**
 * When the process started, from /proc/<pid>/stat (field 22, clock ticks after boot) and the
 * boot time in /proc/stat. Not the mtime of /proc/<pid>: that is when the kernel first made its
 * inode, often the moment someone first looked (e.g. a restarted server), not the start.
 */
export async function processStartTime(pid: number): Promise<Date | undefined> {
  try {
    const [procStat, sysStat] = await Promise.all([readFile(`/proc/${pid}/stat`, 'utf8'), readFile('/proc/stat', 'utf8')]);
    const ticks = Number(procStat.slice(procStat.lastIndexOf(')') + 2).split(' ')[19]);
    const bootSeconds = Number(/^btime (\d+)$/m.exec(sysStat)?.[1]);
    if (!Number.isFinite(ticks) || !Number.isFinite(bootSeconds)) return undefined;
    return new Date(bootSeconds * 1000 + (ticks * 1000) / USER_HZ);
  } catch {
    return undefined;
  }
}

/** Linux reports process times in USER_HZ ticks, 100 per second on every architecture we run. */
const USER_HZ = 100;

export async function readPid(pidfile: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(pidfile, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** True if the pid is alive AND is the QEMU of this instance (pids get reused). */
export async function isOurQemu(pid: number, id: string): Promise<boolean> {
  try {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    const state = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.[0];
    return state !== 'Z' && cmdline.split('\0').includes(`${id},process=qemu-${id}`);
  } catch {
    return false;
  }
}

export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!existsSync(`/proc/${pid}`)) return true;
    const state = await readFile(`/proc/${pid}/stat`, 'utf8').then((s) => s.split(') ')[1]?.[0]).catch(() => undefined);
    if (state === undefined || state === 'Z') return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/**
 * QEMU processes of an instance found by their command line (its name and its pidfile), whether
 * or not the pidfile was written yet. Zombies are left out.
 */
export async function qemuProcessesOf(id: string, pidfile: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const args = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (!args.includes(`${id},process=qemu-${id}`) || !args.includes(pidfile)) continue;
    const state = await readFile(`/proc/${entry}/stat`, 'utf8').then((st) => st.slice(st.lastIndexOf(')') + 2)[0]).catch(() => 'Z');
    if (state !== 'Z') found.push(Number(entry));
  }
  return found;
}

/** SIGKILL, then wait (up to 10 s) for the process to be gone. */
export async function killAndWait(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  await waitForExit(pid, 10_000);
}
