/**
 * Shared helpers for the VM benchmarks (bench/vm-boot.ts, bench/vm-fleet.ts): the real server
 * with a throw-away data dir, a user with an SSH key and credits, a fine-grained SSH banner
 * probe, /proc readings, and a reaper that kills every process of the run by PID (server,
 * QEMUs from pidfiles or spawned by us) and removes the temp dirs on every exit path,
 * including Ctrl-C and the global time limit.
 *
 * Traffic goes only to 127.0.0.1.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ApiClient, type Vm } from '@twarga/contract';
import { QmpClient } from '../../apps/server/src/compute/qemu/qmp-client.js';
import { startServer } from '../../tests/support/server.js';

export const HOST = '127.0.0.1';

/** Wall-clock milliseconds with sub-millisecond precision (comparable to file mtimeMs). */
export const now = () => performance.timeOrigin + performance.now();

// ---------------------------------------------------------------- formatting and statistics

export const fmt = (n: number | undefined, digits = 1) => (n !== undefined && Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
/** Seconds from milliseconds. */
export const sec = (ms: number | undefined, digits = 2) => (ms === undefined ? 'n/a' : fmt(ms / 1000, digits));

export function median(xs: number[]): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
export const min = (xs: number[]) => Math.min(...xs);
export const max = (xs: number[]) => Math.max(...xs);
export const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

export function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return n;
}

// ---------------------------------------------------------------- /proc

export function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

/** VmRSS, VmHWM (peak RSS) and RssAnon (private, not file-backed) of a process in MiB, or undefined if it is gone. */
export function memoryOf(pid: number | undefined): { rssMb: number; hwmMb: number; anonMb: number } | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'))?.[1] ?? NaN);
    return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024, anonMb: kb('RssAnon') / 1024 };
  } catch {
    return undefined;
  }
}

/** MemAvailable of the host in MiB. */
export function memAvailableMb(): number {
  const kb = Number(readFileSync('/proc/meminfo', 'utf8').match(/^MemAvailable:\s+(\d+) kB/m)?.[1] ?? NaN);
  return kb / 1024;
}

/** CPU seconds (user + system) a process has used so far. */
export function cpuSecondsOf(pid: number): number | undefined {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(')').pop()!.trim().split(/\s+/);
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return undefined;
  }
}

export function readPidfile(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** PIDs from every <vmsDir>/vm-*\/qemu.pid. */
export function pidfilePids(vmsDir: string): Map<string, number> {
  const out = new Map<string, number>();
  const entries = existsSync(vmsDir) ? readdirSync(vmsDir) : [];
  for (const e of entries) {
    const pid = readPidfile(path.join(vmsDir, e, 'qemu.pid'));
    if (pid !== undefined) out.set(e, pid);
  }
  return out;
}

/**
 * QEMU processes of this user whose command line names a file under `marker` (one of our
 * mkdtemp directories). These can only be ours: it is how daemonized QEMUs without a pidfile
 * yet (or whose directory was already removed) are found. Returns PIDs; kills nothing.
 */
export function qemuPidsReferencing(marker: string): number[] {
  const uid = process.getuid?.();
  const pids: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === process.pid) continue;
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (!argv[0]?.includes('qemu-system')) continue;
      if (!argv.some((a) => a.includes(marker))) continue;
      if (uid !== undefined) {
        const owner = Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/^Uid:\s+(\d+)/m)?.[1]);
        if (owner !== uid) continue;
      }
      if (alive(pid)) pids.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    await sleep(50);
  }
  return !alive(pid);
}

export async function killPid(pid: number, timeoutMs = 5_000): Promise<void> {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  await waitForExit(pid, timeoutMs);
}

// ---------------------------------------------------------------- the reaper

/**
 * Everything this run started, ended by PID and removed on exit. `markers` are our temp
 * directories: any QEMU whose argv references one is ours and is killed as well.
 */
export class Reaper {
  private readonly qemuPids = new Set<number>();
  private readonly children = new Set<ChildProcess>();
  private readonly dirs = new Set<string>();
  private serverChild?: ChildProcess;
  private serverEnv?: string;
  private cleaning?: Promise<void>;

  constructor(private readonly label: string) {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.on(signal, () => {
        if (this.cleaning) {
          console.error(`\n${signal} again: exiting without waiting`);
          process.exit(130);
        }
        console.error(`\n${signal}: stopping the server, killing every QEMU of this run, removing temp dirs`);
        void this.cleanup().finally(() => process.exit(130));
      });
    }
  }

  tempDir(prefix: string): string {
    const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
    this.dirs.add(dir);
    return dir;
  }
  trackQemu(pid: number | undefined): void {
    if (pid !== undefined) this.qemuPids.add(pid);
  }
  trackChild(child: ChildProcess): void {
    this.children.add(child);
  }
  trackServer(child: ChildProcess): void {
    this.serverChild = child;
  }

  /** Every QEMU of this run still alive: tracked PIDs, pidfiles under our dirs, argv scan. */
  leftoverQemus(): number[] {
    const pids = new Set<number>();
    for (const pid of this.qemuPids) if (alive(pid)) pids.add(pid);
    for (const dir of this.dirs) {
      for (const sub of ['data/vms', 'vms', 'bare/vms']) {
        for (const pid of pidfilePids(path.join(dir, sub)).values()) if (alive(pid) && isQemu(pid)) pids.add(pid);
      }
      for (const pid of qemuPidsReferencing(dir)) pids.add(pid);
    }
    for (const c of this.children) if (c.pid !== undefined && c.exitCode === null && c.signalCode === null && alive(c.pid)) pids.add(c.pid);
    return [...pids];
  }

  /**
   * startServer gives us no handle if the server fails to answer /health in time; this finds
   * that process by the unique TWARGA_DATA_DIR in its environment so cleanup can still end it.
   */
  watchServerEnv(entry: string): void {
    this.serverEnv = entry;
  }

  private strayServers(): number[] {
    const entry = this.serverEnv;
    if (!entry) return [];
    const out: number[] = [];
    for (const e of readdirSync('/proc')) {
      if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
      try {
        if (readFileSync(`/proc/${e}/environ`, 'utf8').split('\0').includes(entry) && alive(Number(e))) out.push(Number(e));
      } catch {
        // not ours or gone
      }
    }
    return out;
  }

  async stopServer(): Promise<void> {
    const child = this.serverChild;
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      process.kill(child.pid, 'SIGTERM');
    } catch {
      return;
    }
    if (await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)])) return;
    await killPid(child.pid, 3_000);
  }

  cleanup(): Promise<void> {
    this.cleaning ??= (async () => {
      await this.stopServer().catch(() => {});
      const strays = this.strayServers().filter((pid) => !isQemu(pid));
      await Promise.all(strays.map((pid) => killPid(pid)));
      const pids = this.leftoverQemus();
      if (pids.length > 0) console.error(`${this.label}: killing ${pids.length} leftover process(es) of this run: ${pids.join(' ')}`);
      await Promise.all(pids.map((pid) => killPid(pid)));
      for (const dir of this.dirs) rmSync(dir, { recursive: true, force: true });
    })();
    return this.cleaning;
  }
}

function isQemu(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]!.includes('qemu-system');
  } catch {
    return false;
  }
}

/** Runs `fn`; on success, failure or the global time limit, cleans up and exits with its code. */
export async function runBench(reaper: Reaper, limitMs: number, fn: () => Promise<number>): Promise<never> {
  const watchdog = setTimeout(() => {
    console.error(`\nglobal time limit of ${limitMs / 1000} s reached: cleaning up`);
    void reaper.cleanup().finally(() => process.exit(1));
  }, limitMs);
  let code = 1;
  try {
    code = await fn();
  } catch (err) {
    console.error(`\nbench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    code = 1;
  } finally {
    clearTimeout(watchdog);
    await reaper.cleanup();
  }
  process.exit(code);
}

// ---------------------------------------------------------------- the server and a user

/**
 * BENCH_SERVER_ENV='K=V K2=V2': extra environment for the server only (to try a setting such
 * as MALLOC_ARENA_MAX=2 against the default in the same bench). Printed by the benches.
 */
export function serverEnvFromBench(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of (process.env.BENCH_SERVER_ENV ?? '').split(/\s+/).filter(Boolean)) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new Error(`BENCH_SERVER_ENV: "${kv}" is not KEY=VALUE`);
    out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

export interface BenchServer {
  base: string;
  dataDir: string;
  vmsDir: string;
  pid: number;
  output: () => string;
  adminPassword: string;
}

/** The built server (apps/server/dist/server.js) through tests/support/server.ts, real QEMU under TCG. */
export async function startBenchServer(reaper: Reaper, root: string, sshPorts: string, extraEnv: Record<string, string> = serverEnvFromBench()): Promise<BenchServer> {
  const serverJs = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../apps/server/dist/server.js');
  if (!existsSync(serverJs)) throw new Error(`${serverJs} is missing: run npm run build -w packages/contract -w apps/server`);
  const dataDir = path.join(root, 'data');
  const adminPassword = randomBytes(15).toString('base64url');
  reaper.watchServerEnv(`TWARGA_DATA_DIR=${dataDir}`);
  const server = await startServer({
    TWARGA_DATA_DIR: dataDir,
    TWARGA_ACCEL: 'tcg',
    TWARGA_ADMIN_PASSWORD: adminPassword,
    TWARGA_LOG_LEVEL: 'warn',
    TWARGA_SSH_PORTS: sshPorts,
    TWARGA_MAX_VMS_PER_USER: '25',
    TWARGA_MAX_RAM_PER_USER_MB: '16384',
    TWARGA_MAX_VCPUS_PER_USER: '32',
    ...extraEnv,
  });
  reaper.trackServer(server.child);
  return { base: server.base, dataDir, vmsDir: path.join(dataDir, 'vms'), pid: server.child.pid!, output: server.output, adminPassword };
}

export interface BenchUser {
  api: ApiClient;
  keyId: number;
  publicKey: string;
  privateKey: string;
}

/** Registers a user, adds an ed25519 key, and has the admin grant 100,000 credits. */
export async function setupUser(server: BenchServer, keyDir: string): Promise<BenchUser> {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'twarga-bench', '-f', path.join(keyDir, 'id')]);
  const privateKey = readFileSync(path.join(keyDir, 'id'), 'utf8');
  const publicKey = readFileSync(path.join(keyDir, 'id.pub'), 'utf8').trim();
  const username = `bench${randomBytes(4).toString('hex')}`;
  const password = randomBytes(18).toString('base64url');
  const anon = new ApiClient({ baseUrl: server.base });
  const user = await anon.auth.register({ username, email: `${username}@bench.test`, password });
  const { access_token } = await anon.auth.login(username, password);
  const api = new ApiClient({ baseUrl: server.base, token: access_token });
  const key = await api.account.keys.create({ name: 'bench', public_key: publicKey });
  const admin = new ApiClient({ baseUrl: server.base, token: (await anon.auth.login('admin', server.adminPassword)).access_token });
  await admin.admin.adjustCredits(user.id, { amount: 100_000, reason: 'bench' });
  return { api, keyId: key.id, publicKey, privateKey };
}

/** Polls GET /api/vms/{id} until the status (and unlocked); throws on 'error'. */
export async function waitStatus(api: ApiClient, id: number, status: Vm['status'], timeoutMs: number, everyMs = 100): Promise<{ vm: Vm; seenAt: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let vm: Vm | undefined;
    try {
      vm = await api.vms.get(id);
    } catch (err) {
      // A destroyed VM may answer 404 once it is gone.
      if (status === 'destroyed' && (err as { status?: number }).status === 404) return { vm: { id, status } as Vm, seenAt: now() };
      throw err;
    }
    if (vm.status === 'error') throw new Error(`VM ${id} went to error: ${vm.error}`);
    if (vm.status === status && !vm.locked) return { vm, seenAt: now() };
    if (Date.now() > deadline) throw new Error(`VM ${id}: not ${status} within ${timeoutMs / 1000} s (last: ${vm.status})`);
    await sleep(everyMs);
  }
}

// ---------------------------------------------------------------- SSH banner probe

export interface BannerProbeOptions {
  /** Default 127.0.0.1 (QEMU's forwarded port); a guest's own address for libvirt/vagrant. */
  host?: string;
  /** A new connection attempt at most this often. */
  intervalMs: number;
  /** An attempt that got neither a banner nor a close within this is dropped. */
  attemptTimeoutMs: number;
  maxInFlight: number;
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * Resolves with the wall-clock time (now()) at which the first "SSH-" line arrived on
 * 127.0.0.1:port. Unlike waitForSshBanner (one attempt at a time, 250 ms pause, 2 s per hung
 * attempt), attempts overlap: with QEMU user networking the host side of a forwarded port
 * accepts at once and an attempt made before the guest has an address hangs, so a serial probe
 * would see the banner up to ~2 s late. Here the resolution is `intervalMs`.
 */
export function firstSshBanner(port: number, opts: BannerProbeOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const sockets = new Set<net.Socket>();
    let done = false;
    let attempts = 0;
    const finish = (err: Error | undefined, at?: number) => {
      if (done) return;
      done = true;
      clearInterval(ticker);
      clearTimeout(limit);
      opts.signal?.removeEventListener('abort', onAbort);
      for (const s of sockets) s.destroy();
      if (err) reject(err);
      else resolve(at!);
    };
    const attempt = () => {
      if (done || sockets.size >= opts.maxInFlight) return;
      attempts++;
      const s = net.connect(port, opts.host ?? HOST);
      sockets.add(s);
      let got = '';
      const drop = () => {
        sockets.delete(s);
        s.destroy();
      };
      s.setTimeout(opts.attemptTimeoutMs, drop);
      s.on('data', (d) => {
        const at = now();
        got += d.toString('latin1');
        if (got.startsWith('SSH-')) finish(undefined, at);
        else if (got.length >= 4 && !'SSH-'.startsWith(got.slice(0, 4))) drop();
      });
      s.on('error', drop);
      s.on('close', drop);
    };
    const onAbort = () => finish(new Error('banner probe aborted'));
    opts.signal?.addEventListener('abort', onAbort);
    const ticker = setInterval(attempt, opts.intervalMs);
    const limit = setTimeout(() => finish(new Error(`no SSH banner on ${opts.host ?? HOST}:${port} within ${opts.timeoutMs / 1000} s (${attempts} attempts)`)), opts.timeoutMs);
    attempt();
  });
}

// ---------------------------------------------------------------- serial log watch

/**
 * Polls a QEMU serial logfile and records when the first byte and when the first line matching
 * `pattern` appeared (the tiny image prints "tiny: <name> up at <addr>" at the end of rcS).
 */
export class SerialWatch {
  firstByteAt?: number;
  matchedAt?: number;
  private offset = 0;
  private tail = '';
  private timer: NodeJS.Timeout;

  constructor(private readonly file: string, private readonly pattern: RegExp, everyMs = 50) {
    this.timer = setInterval(() => this.poll(), everyMs);
  }

  private poll(): void {
    let buf: Buffer;
    try {
      buf = readFileSync(this.file);
    } catch {
      return;
    }
    if (buf.length <= this.offset) return;
    const at = now();
    this.firstByteAt ??= at;
    this.tail = (this.tail + buf.subarray(this.offset).toString('latin1')).slice(-4096);
    this.offset = buf.length;
    if (this.matchedAt === undefined && this.pattern.test(this.tail)) this.matchedAt = at;
  }

  stop(): void {
    this.poll();
    clearInterval(this.timer);
  }
}

// ---------------------------------------------------------------- the machine

export function machineInfo(): string[] {
  let qemu = 'unknown';
  try {
    qemu = execFileSync('qemu-system-x86_64', ['--version'], { encoding: 'utf8' }).split('\n')[0] ?? qemu;
  } catch {
    // reported as unknown
  }
  const memGb = os.totalmem() / 1024 ** 3;
  return [
    `node ${process.version}, ${os.availableParallelism()} CPUs (${os.cpus()[0]?.model ?? 'unknown CPU'}), ${fmt(memGb, 1)} GiB RAM, kernel ${os.release()}`,
    `${qemu}; accel tcg (TWARGA_ACCEL=tcg)`,
    `load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, MemAvailable ${fmt(memAvailableMb(), 0)} MiB`,
  ];
}

// ---------------------------------------------------------------- diagnosis of a guest that never answered

/**
 * For a VM that never answered: its last serial line, and over QMP (the VM's own qmp.sock,
 * read-only commands) whether its vCPU is halted and what its local APIC has in service and
 * pending. A vector stuck in ISR blocks every lower-priority interrupt (e.g. virtio's).
 */
export async function diagnoseGuest(vmDir: string): Promise<string> {
  const lines: string[] = [];
  try {
    const serial = readFileSync(path.join(vmDir, 'serial.log'), 'latin1').trim().split('\n');
    lines.push(`last serial line: ${serial.at(-1)?.trim() ?? '(none)'} (${serial.length} lines)`);
  } catch {
    lines.push('no serial log');
  }
  let qmp: QmpClient | undefined;
  try {
    qmp = await QmpClient.connect(path.join(vmDir, 'qmp.sock'), 3_000);
    const hmp = (cmd: string) => qmp!.execute<string>('human-monitor-command', { 'command-line': cmd }, 5_000);
    const regs = await hmp('info registers');
    const rip = regs.split('\n').find((l) => l.startsWith('RIP='))?.trim();
    if (rip) lines.push(`vCPU: ${rip.replace(/\s+/g, ' ')}`);
    const lapic = await hmp('info lapic');
    const pick = (key: string) => lapic.split('\n').find((l) => l.startsWith(key))?.trim().replace(/\s+/g, ' ');
    lines.push(`LAPIC: ${['ISR', 'IRR', 'APR', 'Timer'].map(pick).filter(Boolean).join('; ')}`);
    const irq = (await hmp('info irq')).split('\n').slice(0, 3).map((l) => l.trim()).join(' ');
    lines.push(`interrupt counts: ${irq}`);
  } catch (err) {
    lines.push(`QMP: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    qmp?.close();
  }
  return lines.join('\n    ');
}
