/**
 * Benchmark: authenticated GET /api/auth/me (Bearer personal API token) under bounded
 * autocannon load on loopback, against a bare Fastify route measured in the same run.
 *
 *   npm run bench:auth        (node --conditions=development --import tsx bench/auth-me.ts)
 *
 * Targets (from the issue): p99 < 10 ms at 2,000 req/s, and at least half the throughput of
 * the bare Fastify route. Exit code 0 when every target is met, 1 otherwise (or on any error).
 *
 * Both servers run as child processes so the load generator (this process) never shares their
 * event loop. Traffic goes only to 127.0.0.1; every load is bounded in time and in request count
 * and stops by itself. Both children are killed by PID and the temp data dir is removed on every
 * exit path, including Ctrl-C. See bench/README.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ApiClient } from '@twarga/contract';

// ---------------------------------------------------------------- settings

const HOST = '127.0.0.1';
const TARGET_RATE = 2_000; // req/s
const TARGET_P99_MS = 10;
const TARGET_RATIO = 0.5;
/** The fixed-rate run must actually deliver the rate (autocannon only caps it). */
const MIN_ACHIEVED_SHARE = 0.95;

/**
 * Warm-up per server: a gentle phase, then a short unthrottled one, so that JIT tier-up and V8's
 * heap growth happen before anything is measured rather than inside the first measured run.
 */
const WARMUP = { connections: 10, overallRate: 1_000, duration: 2, hotDuration: 3 };
const FIXED = { connections: 20, overallRate: TARGET_RATE, duration: 10 };
const MAX = { connections: 50, pipelining: 1, duration: 8, rounds: 2 };
/** Request-count bound on the unthrottled runs: far above what two cores can do in 8 s. */
const MAX_REQUESTS_PER_RUN = 1_000_000;
/** Above this many cores used by other processes during a run, the verdict carries a warning. */
const OTHERS_CPU_WARN = 0.15;
/** If a load has not ended this long after its duration, stop it. */
const WATCHDOG_GRACE_S = 15;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const NODE_ARGS = ['--conditions=development', '--import', 'tsx'];
/** Extra node arguments for the twarga server only, e.g. BENCH_SERVER_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'. */
const serverArgs = (process.env.BENCH_SERVER_ARGS ?? '').split(/\s+/).filter(Boolean);

// ---------------------------------------------------------------- autocannon (no bundled types)

interface Histogram {
  average: number;
  mean: number;
  stddev: number;
  min: number;
  max: number;
  total: number;
  p50: number;
  p90: number;
  p97_5: number;
  p99: number;
}
interface AutocannonResult {
  requests: Histogram & { sent: number };
  latency: Histogram;
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  statusCodeStats: Record<string, { count: number }>;
}
interface AutocannonOptions {
  url: string;
  connections: number;
  duration: number;
  pipelining?: number;
  overallRate?: number;
  maxOverallRequests?: number;
  headers?: Record<string, string>;
  timeout?: number;
}
interface AutocannonInstance extends EventEmitter {
  stop(): void;
}
type Autocannon = (opts: AutocannonOptions, cb: (err: Error | null, result: AutocannonResult) => void) => AutocannonInstance;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

// ---------------------------------------------------------------- children, temp dir, cleanup

interface Child {
  name: string;
  proc: ChildProcess;
  output: string;
  exited: Promise<void>;
}

const children: Child[] = [];
let tempDir: string | undefined;
let runningLoad: AutocannonInstance | undefined;
let cleaning: Promise<void> | undefined;

function startChild(name: string, script: string, env: Record<string, string>, extraArgs: string[] = []): Child {
  const proc = spawn(process.execPath, [...NODE_ARGS, ...extraArgs, script], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const child: Child = {
    name,
    proc,
    output: '',
    exited: new Promise((resolve) => proc.once('exit', () => resolve())),
  };
  const keep = (chunk: Buffer) => {
    child.output = (child.output + chunk.toString()).slice(-16_384);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  children.push(child);
  return child;
}

const isRunning = (c: Child) => c.proc.exitCode === null && c.proc.signalCode === null;

async function stopChild(c: Child): Promise<void> {
  if (!isRunning(c) || c.proc.pid === undefined) return;
  const pid = c.proc.pid;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  if (await Promise.race([c.exited.then(() => true), sleep(5_000).then(() => false)])) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  await Promise.race([c.exited, sleep(2_000)]);
}

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    runningLoad?.stop();
    await Promise.all(children.map(stopChild));
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  })();
  return cleaning;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (cleaning) {
      // Second signal: do not wait any longer.
      for (const c of children) if (isRunning(c) && c.proc.pid) process.kill(c.proc.pid, 'SIGKILL');
      process.exit(130);
    }
    console.error(`\n${signal}: stopping the servers and removing ${tempDir ?? 'the temp dir'}`);
    void cleanup().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------- helpers

/** Two distinct free loopback ports (both held open until both are known). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<net.Server>((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, HOST, () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

async function waitFor200(child: Child, url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isRunning(child)) throw new Error(`${child.name} exited (code ${child.proc.exitCode}) before ${url} answered:\n${child.output}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${child.name}: ${url} did not answer 200 within ${timeoutMs / 1000} s:\n${child.output}`);
}

function memoryOf(pid: number | undefined): { rssMb: number; peakMb: number } | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'))?.[1] ?? NaN);
    return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/**
 * HdrHistogram's coordinated-omission correction (recordValueWithExpectedInterval): a response
 * slower than the interval at which its connection should have sent also stands for the
 * requests that connection could not send meanwhile (v − i, v − 2i, … ≥ i). The interval is
 * the per-connection one, connections / rate (10 ms for 20 connections at 2,000 req/s).
 * autocannon 8 applies the same correction with Math.ceil(1 / rate) = 1 ms, ten times too short,
 * so a single 50 ms stall adds ~50 synthetic samples per connection and its p99 swings with it.
 */
function correctForOmission(samples: number[], intervalMs: number): Float64Array {
  const out: number[] = [];
  for (const v of samples) {
    out.push(v);
    for (let missed = v - intervalMs; missed >= intervalMs; missed -= intervalMs) out.push(missed);
  }
  return Float64Array.from(out).sort();
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

interface CpuSnapshot {
  wall: number;
  machineBusy: number;
  ours: number;
  target: number;
}

const USER_HZ = 100; // Linux reports /proc CPU times in 1/100 s

/** CPU seconds so far: the whole machine (busy + steal), this process with its children, and one child. */
function cpuSnapshot(targetPid: number | undefined): CpuSnapshot | undefined {
  try {
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = readFileSync('/proc/stat', 'utf8')
      .split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const procCpu = (pid: number) => {
      // Fields after "(comm)": state is field 3, utime 14, stime 15.
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(')').pop()!.trim().split(/\s+/);
      return (Number(f[11]) + Number(f[12])) / USER_HZ;
    };
    const self = process.cpuUsage();
    let ours = (self.user + self.system) / 1e6;
    for (const c of children) if (c.proc.pid !== undefined && isRunning(c)) ours += procCpu(c.proc.pid);
    return {
      wall: performance.now() / 1000,
      machineBusy: (user + nice + system + irq + softirq + steal) / USER_HZ,
      ours,
      target: targetPid === undefined ? NaN : procCpu(targetPid),
    };
  } catch {
    return undefined;
  }
}

interface RunOutcome {
  label: string;
  target: 'auth-me' | 'bare';
  mode: string;
  connections: number;
  result: AutocannonResult;
  /** Average CPU cores used during the run by the target server and by everything not ours. */
  cpu?: { server: number; others: number };
  /** From every response's own latency (ms, float), collected on the fixed-rate runs only. */
  exact?: {
    n: number;
    p50: number;
    p99: number;
    max: number;
    /** p99 corrected for coordinated omission with the right expected interval (see below). */
    p99Corrected: number;
    intervalMs: number;
  };
}

async function load(
  label: string,
  target: RunOutcome['target'],
  mode: string,
  opts: AutocannonOptions,
  { pid, collectExact = false }: { pid: number | undefined; collectExact?: boolean },
): Promise<RunOutcome> {
  process.stdout.write(`  ${label.padEnd(34)} `);
  const samples: number[] = [];
  const before = cpuSnapshot(pid);
  const result = await new Promise<AutocannonResult>((resolve, reject) => {
    let watchdog: NodeJS.Timeout | undefined;
    const instance = autocannon({ timeout: 10, ...opts }, (err, res) => {
      clearTimeout(watchdog);
      runningLoad = undefined;
      if (err) reject(err);
      else resolve(res);
    });
    runningLoad = instance;
    if (collectExact) instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => samples.push(ms));
    watchdog = setTimeout(() => instance.stop(), (opts.duration + WATCHDOG_GRACE_S) * 1000);
  });
  const after = cpuSnapshot(pid);
  let cpu: RunOutcome['cpu'];
  if (before && after) {
    const wall = after.wall - before.wall;
    cpu = {
      server: (after.target - before.target) / wall,
      others: Math.max(0, after.machineBusy - before.machineBusy - (after.ours - before.ours)) / wall,
    };
  }
  let exact: RunOutcome['exact'];
  if (collectExact && samples.length > 0) {
    const sorted = Float64Array.from(samples).sort();
    const intervalMs = opts.overallRate ? (1000 * opts.connections) / opts.overallRate : Infinity;
    exact = {
      n: sorted.length,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      max: sorted[sorted.length - 1] ?? NaN,
      p99Corrected: percentile(correctForOmission(samples, intervalMs), 99),
      intervalMs,
    };
  }
  const cpuText = cpu ? `  cpu: server ${fmt(cpu.server, 2)}, others ${fmt(cpu.others, 2)}` : '';
  const codes = Object.entries(result.statusCodeStats).map(([code, { count }]) => `${code}×${count}`).join(' ');
  console.log(
    `${fmt(result.requests.average, 0).padStart(6)} req/s  p50 ${result.latency.p50} ms  p99 ${result.latency.p99} ms` +
      `${exact ? ` (raw ${fmt(exact.p99, 2)} ms, corrected ${fmt(exact.p99Corrected, 2)} ms)` : ''}  errors ${result.errors}  non-2xx ${result.non2xx}  [${codes}]${cpuText}`,
  );
  return { label, target, mode, connections: opts.connections, result, cpu, exact };
}

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

// ---------------------------------------------------------------- the benchmark

async function main(): Promise<number> {
  const cpuModel = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(`Twarga Cloud bench: GET /api/auth/me vs bare Fastify`);
  console.log(`  node ${process.version}, ${os.availableParallelism()} CPUs (${cpuModel}), load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);

  if (serverArgs.length > 0) console.log(`  extra node arguments for the twarga server: ${serverArgs.join(' ')}`);
  tempDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-bench-'));
  const [appPort, barePort] = await freePorts(2);
  const appBase = `http://${HOST}:${appPort}`;
  const bareBase = `http://${HOST}:${barePort}`;

  const server = startChild('twarga server', 'apps/server/src/server.ts', {
    TWARGA_DATA_DIR: path.join(tempDir, 'data'),
    TWARGA_HOST: HOST,
    TWARGA_PORT: String(appPort),
    TWARGA_ADMIN_PASSWORD: randomBytes(15).toString('base64url'), // 20 characters
    TWARGA_LOG_LEVEL: 'warn', // per-request info logs would otherwise dominate the profile
    TWARGA_REGISTER_RATE_LIMIT: '100000',
  }, serverArgs);
  const bare = startChild('bare fastify', 'bench/bare-fastify.ts', { BENCH_PORT: String(barePort) });
  await Promise.all([waitFor200(server, `${appBase}/health`), waitFor200(bare, `${bareBase}/bare`)]);
  console.log(`  servers up: twarga ${appBase} (pid ${server.proc.pid}), bare ${bareBase} (pid ${bare.proc.pid}); data in ${tempDir}`);

  // A user, a session, and a read-only personal API token, all through the API.
  const username = `bench${randomBytes(4).toString('hex')}`;
  const password = randomBytes(18).toString('base64url');
  await new ApiClient({ baseUrl: appBase }).auth.register({ username, email: `${username}@bench.test`, password });
  const session = await new ApiClient({ baseUrl: appBase }).auth.login(username, password);
  const created = await new ApiClient({ baseUrl: appBase, token: session.access_token }).account.tokens.create({ name: 'bench', scope: 'read' });
  const token = created.token;
  const me = await new ApiClient({ baseUrl: appBase, token }).auth.me();
  if (me.username !== username || !token.startsWith('twp_')) throw new Error(`unexpected /api/auth/me answer: ${JSON.stringify(me)}`);
  console.log(`  user ${username}, read-only API token ${created.prefix}…`);
  const memBefore = memoryOf(server.proc.pid);

  const authMe = { url: `${appBase}/api/auth/me`, headers: { authorization: `Bearer ${token}` } };
  const bareUrl = { url: `${bareBase}/bare` };
  const runs: RunOutcome[] = [];
  const cap = (rate: number, seconds: number) => Math.ceil(rate * seconds * 1.1);

  console.log(`\nWarm-up (each server ${WARMUP.duration} s at ${WARMUP.overallRate} req/s, then ${WARMUP.hotDuration} s unthrottled)`);
  const warm = { connections: WARMUP.connections, overallRate: WARMUP.overallRate, duration: WARMUP.duration, maxOverallRequests: cap(WARMUP.overallRate, WARMUP.duration) };
  const hot = { connections: MAX.connections, duration: WARMUP.hotDuration, maxOverallRequests: MAX_REQUESTS_PER_RUN };
  const warmups = [
    await load('warm-up auth-me', 'auth-me', 'warm-up', { ...authMe, ...warm }, { pid: server.proc.pid }),
    await load('warm-up bare', 'bare', 'warm-up', { ...bareUrl, ...warm }, { pid: bare.proc.pid }),
    await load('warm-up auth-me, unthrottled', 'auth-me', 'warm-up', { ...authMe, ...hot }, { pid: server.proc.pid }),
    await load('warm-up bare, unthrottled', 'bare', 'warm-up', { ...bareUrl, ...hot }, { pid: bare.proc.pid }),
  ];

  console.log(`\nFixed rate: ${FIXED.overallRate} req/s, ${FIXED.connections} connections, ${FIXED.duration} s`);
  const fixed = { connections: FIXED.connections, overallRate: FIXED.overallRate, duration: FIXED.duration, maxOverallRequests: cap(FIXED.overallRate, FIXED.duration) };
  runs.push(await load('auth-me @2000', 'auth-me', 'fixed 2000 req/s', { ...authMe, ...fixed }, { pid: server.proc.pid, collectExact: true }));
  runs.push(await load('bare @2000 (reference)', 'bare', 'fixed 2000 req/s', { ...bareUrl, ...fixed }, { pid: bare.proc.pid, collectExact: true }));

  console.log(`\nMax throughput: ${MAX.connections} connections, pipelining ${MAX.pipelining}, ${MAX.duration} s, alternating, ${MAX.rounds} rounds`);
  const max = { connections: MAX.connections, pipelining: MAX.pipelining, duration: MAX.duration, maxOverallRequests: MAX_REQUESTS_PER_RUN };
  for (let round = 1; round <= MAX.rounds; round++) {
    runs.push(await load(`auth-me max, round ${round}`, 'auth-me', `max, round ${round}`, { ...authMe, ...max }, { pid: server.proc.pid }));
    runs.push(await load(`bare max, round ${round}`, 'bare', `max, round ${round}`, { ...bareUrl, ...max }, { pid: bare.proc.pid }));
  }

  const memAfter = memoryOf(server.proc.pid);
  const bareMem = memoryOf(bare.proc.pid);

  // ------------------------------------------------------------ summary
  const fixedAuth = runs[0]!;
  const maxAuth = runs.filter((r) => r.target === 'auth-me' && r.mode.startsWith('max'));
  const maxBare = runs.filter((r) => r.target === 'bare' && r.mode.startsWith('max'));
  const authRps = mean(maxAuth.map((r) => r.result.requests.average));
  const bareRps = mean(maxBare.map((r) => r.result.requests.average));
  const ratio = authRps / bareRps;

  console.log(`\nResults (${new Date().toISOString()}, node ${process.version}, ${os.availableParallelism()} CPUs, ${cpuModel})\n`);
  console.log('| Run | Target | Conns | req/s | p50 | p97.5 | p99 (autocannon) | p99 raw | p99 corrected | max | errors | non-2xx | server CPU | other CPU |');
  console.log('|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const r of runs) {
    const l = r.result.latency;
    const x = r.exact;
    console.log(
      `| ${r.mode} | ${r.target} | ${r.connections} | ${fmt(r.result.requests.average, 0)} | ${l.p50} | ${l.p97_5} | ${l.p99} | ` +
        `${x ? fmt(x.p99, 2) : '–'} | ${x ? fmt(x.p99Corrected, 2) : '–'} | ${x ? fmt(x.max, 1) : l.max} | ${r.result.errors} | ${r.result.non2xx} | ${fmt(r.cpu?.server ?? NaN, 2)} | ${fmt(r.cpu?.others ?? NaN, 2)} |`,
    );
  }
  for (const [target, rs, rps] of [['auth-me', maxAuth, authRps], ['bare', maxBare, bareRps]] as const) {
    console.log(`| max, mean of ${MAX.rounds} | ${target} | ${MAX.connections} | ${fmt(rps, 0)} | | | ${fmt(mean(rs.map((r) => r.result.latency.p99)), 1)} | | | | | | | |`);
  }
  console.log('\nLatencies in ms. autocannon truncates to whole ms and corrects coordinated omission with a 1 ms interval;');
  console.log(`"raw" is every response's own latency; "corrected" adds omitted requests at the ${fmt(fixedAuth.exact?.intervalMs ?? NaN, 0)} ms per-connection interval.`);
  console.log('CPU in cores (2 = the whole machine): the server under load, and every process that is not this bench.');
  const mb = (m?: { rssMb: number; peakMb: number }) => (m ? `${fmt(m.rssMb)} MB (peak ${fmt(m.peakMb)} MB)` : 'n/a');
  console.log(`\nServer RSS: ${mb(memBefore)} before the load, ${mb(memAfter)} after; bare Fastify ${mb(bareMem)}`);

  // ------------------------------------------------------------ verdict
  const all = [...warmups, ...runs];
  const not200 = (r: RunOutcome) => Object.keys(r.result.statusCodeStats).some((code) => code !== '200');
  // autocannon counts timeouts among its errors.
  const failedResponses = all.filter((r) => r.result.non2xx > 0 || r.result.errors > 0 || not200(r));
  const achieved = fixedAuth.result.requests.average;
  const p99 = fixedAuth.exact?.p99Corrected ?? Infinity;
  const checks = [
    {
      ok: failedResponses.length === 0,
      text: `every response 200: ${failedResponses.length === 0 ? 'yes' : `no (${failedResponses.map((r) => `${r.label}: ${r.result.non2xx} non-2xx, ${r.result.errors} errors (${r.result.timeouts} timeouts), status codes ${Object.keys(r.result.statusCodeStats).join(' ')}`).join('; ')})`}`,
    },
    {
      ok: achieved >= TARGET_RATE * MIN_ACHIEVED_SHARE,
      text: `rate delivered: ${fmt(achieved, 0)} req/s of ${TARGET_RATE} (need ≥ ${TARGET_RATE * MIN_ACHIEVED_SHARE})`,
    },
    {
      ok: p99 < TARGET_P99_MS,
      text:
        `p99 at ${TARGET_RATE} req/s: ${fmt(p99, 2)} ms corrected (raw ${fmt(fixedAuth.exact?.p99 ?? NaN, 2)} ms, ` +
        `autocannon ${fixedAuth.result.latency.p99} ms) — target < ${TARGET_P99_MS} ms`,
    },
    {
      ok: ratio >= TARGET_RATIO,
      text: `throughput ratio auth-me / bare: ${fmt(authRps, 0)} / ${fmt(bareRps, 0)} = ${fmt(ratio, 2)} — target ≥ ${TARGET_RATIO}`,
    },
  ];
  const noisy = runs.filter((r) => (r.cpu?.others ?? 0) > OTHERS_CPU_WARN);
  console.log('\nVerdict');
  if (noisy.length > 0) {
    console.log(`  warning: other processes used > ${OTHERS_CPU_WARN} core during ${noisy.map((r) => r.label).join(', ')}; rerun on an idle machine before trusting these numbers`);
  }
  for (const c of checks) console.log(`  ${c.ok ? 'PASS' : 'FAIL'}  ${c.text}`);
  const pass = checks.every((c) => c.ok);
  console.log(`\n${pass ? 'All targets met.' : 'Targets NOT met.'}`);
  return pass ? 0 : 1;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  console.error(`\nbench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  code = 1;
} finally {
  await cleanup();
}
process.exit(code);
