/**
 * Benchmark: instant VMs (a warm snapshot restored, identity through the guest agent) against a
 * cold create and a raw QEMU boot of the same tiny image, each to the guest's SSH banner, and
 * BENCH_CONCURRENT (default 10) instant creates at once (total time, server RSS, QEMU RSS).
 *
 *   node --conditions=development --import tsx bench/instant-create.ts      (npm run bench:instant)
 *
 * Two levels, both by default (BENCH_LEVEL=driver|api|both):
 * - driver: a QemuDriver in this process. Instant = startInstant() → banner (with the driver's
 *   phases: files, QEMU launch, state load, block_resize, agent, identity); cold = create() +
 *   start() → banner; raw = qemu-system-x86_64 with qemuArgs()' argv (minus -daemonize and
 *   -pidfile, spawned by us) → banner, its disk and seed made beforehand (not timed).
 * - api: the built server (apps/server/dist), TWARGA_INSTANT_VMS=on: POST /api/vms → banner once
 *   its warm snapshot for s-1vcpu-256mb is built (the server prepares it at start), the VM's
 *   creation log says which path it took; cold = a second server with TWARGA_INSTANT_VMS=off.
 * Target (issue 13): median instant POST → banner < 1 s (software emulation).
 *
 * BENCH_ROUNDS (default 5) runs of each; BENCH_TINY_DIR the image (default images/tiny/dist).
 * BENCH_INSTANT_ONLY=1 (with BENCH_LEVEL=driver BENCH_CONCURRENT=0): instant rounds only, for quick iterations.
 * Traffic only to 127.0.0.1. Every wait is bounded; the server(s), every QEMU of the run
 * (tracked PIDs, pidfiles, and any QEMU whose argv names our temp dir, warm builds included)
 * and the temp dirs are removed on every exit path, including Ctrl-C and the global time limit.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { seedFiles, writeSeedIso } from '../apps/server/src/cloudinit/seed-iso.js';
import type { InstanceSpec } from '../apps/server/src/compute/driver.js';
import { qemuArgs } from '../apps/server/src/compute/qemu/args.js';
import { instancePaths } from '../apps/server/src/compute/qemu/paths.js';
import { QemuDriver } from '../apps/server/src/compute/qemu/qemu-driver.js';
import type { RestorePhases, WarmPoolEvent } from '../apps/server/src/compute/qemu/warm-pool.js';
import { run } from '../apps/server/src/infra/process.js';
import {
  Reaper, diagnoseGuest, envInt, firstSshBanner, fmt, machineInfo, max, median, memoryOf, min, now, pidfilePids, readPidfile, runBench,
  setupUser, startBenchServer, sum, waitStatus, type BenchServer, type BenchUser,
} from './lib/vm-bench.js';

const ROUNDS = envInt('BENCH_ROUNDS', 5);
const CONCURRENT = envInt('BENCH_CONCURRENT', 10);
const LEVEL = process.env.BENCH_LEVEL ?? 'both';
/** BENCH_INSTANT_ONLY=1: driver level, instant rounds only (no cold or raw boots): for quick iterations. */
const INSTANT_ONLY = process.env.BENCH_INSTANT_ONLY === '1';
const TINY_DIR = process.env.BENCH_TINY_DIR ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../images/tiny/dist');
const API_PORTS = process.env.BENCH_SSH_PORTS ?? '26100-26149';
/** Driver-level VMs and raw QEMUs forward from here up (outside the servers' range). */
const DRIVER_PORT_BASE = envInt('BENCH_DRIVER_PORT_BASE', 26150);
const BOOT_TIMEOUT_MS = envInt('BENCH_BOOT_TIMEOUT_S', 300) * 1000;
const WARM_BUILD_TIMEOUT_MS = envInt('BENCH_WARM_TIMEOUT_S', 600) * 1000;
/**
 * Banner probe: a new attempt every 50 ms, at most 3 in flight. Not more: 20 in flight every 20 ms
 * per VM (a SYN storm through slirp into a guest starved of CPU) kept 8 of 10 concurrently restored
 * guests busy in their kernel, never reaching sshd; with one probe at a time all 10 answered.
 */
const PROBE = { intervalMs: 50, attemptTimeoutMs: 1_000, maxInFlight: 3 };
const SIZE = 's-1vcpu-256mb';

const reaper = new Reaper('instant-create');

const secs = (xs: number[]) => `${fmt(median(xs) / 1000, 2)} s (min ${fmt(min(xs) / 1000, 2)}, max ${fmt(max(xs) / 1000, 2)}, n=${xs.length})`;
/** The first SSH banner's time; on a timeout, what the guest's console and vCPU say, then the error. */
async function banner(port: number, vmDir?: string): Promise<number> {
  try {
    return await firstSshBanner(port, { ...PROBE, timeoutMs: BOOT_TIMEOUT_MS });
  } catch (err) {
    if (vmDir) {
      const tail = await readFile(path.join(vmDir, 'serial.log'), 'latin1').then((t) => t.split('\n').slice(-15).join('\n    '), () => '(no serial log)');
      console.error(`  no banner from ${vmDir}:\n    ${await diagnoseGuest(vmDir)}\n    serial tail:\n    ${tail}`);
    }
    throw err;
  }
}

// ---------------------------------------------------------------- driver level

function driverSpec(n: number, publicKey: string): InstanceSpec {
  const id = `vm-${n}`;
  return {
    id,
    hostname: `bench-${n}`,
    memoryMb: 256,
    vcpus: 1,
    diskGb: 10,
    sshPort: DRIVER_PORT_BASE + (n % 45),
    boot: { kind: 'kernel', kernel: path.join(TINY_DIR, 'vmlinuz'), initrd: path.join(TINY_DIR, 'initrd.img'), cmdline: 'console=ttyS0 panic=-1' },
    seed: seedFiles({ instanceId: `${id}-${Date.now()}`, hostname: `bench-${n}`, sshAuthorizedKeys: [publicKey] }),
    info: {},
  };
}

/** qemuArgs() minus -daemonize and -pidfile <file>: a child we own. */
function rawArgv(spec: InstanceSpec, p: ReturnType<typeof instancePaths>): string[] {
  const args = qemuArgs(spec, p, 'tcg');
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-daemonize') continue;
    if (args[i] === '-pidfile') i++;
    else out.push(args[i]!);
  }
  return out;
}

async function rawBoot(root: string, spec: InstanceSpec): Promise<number> {
  const p = instancePaths(path.join(root, 'raw', 'vms'), spec.id);
  await mkdir(p.dir, { recursive: true, mode: 0o700 });
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', p.disk, `${spec.diskGb}G`], { timeoutMs: 60_000 });
  await writeSeedIso(p.seed, spec.seed);
  const t0 = now();
  const child = spawn('qemu-system-x86_64', rawArgv(spec, p), { cwd: p.dir, stdio: 'ignore' });
  reaper.trackChild(child);
  try {
    return (await banner(spec.sshPort)) - t0;
  } finally {
    child.kill('SIGKILL');
    await Promise.race([new Promise((r) => child.once('exit', r)), sleep(10_000)]);
  }
}

async function driverLevel(root: string, user: { publicKey: string }): Promise<Record<string, number[] | number | string>> {
  const phases: RestorePhases[] = [];
  const events: WarmPoolEvent[] = [];
  const driver = new QemuDriver({
    vmsDir: path.join(root, 'driver', 'vms'),
    warmDir: path.join(root, 'driver', 'warm'),
    accel: async () => 'tcg',
    stopTimeoutMs: 10_000,
    onWarmEvent: (e) => (events.push(e), e.type === 'restored' && phases.push(e.phases)),
  });
  let n = 0;
  const tBuild = now();
  const first = driverSpec(++n, user.publicKey);
  driver.prepareWarm(first);
  const deadline = Date.now() + WARM_BUILD_TIMEOUT_MS;
  while (!['ready', 'failed'].includes((await driver.warmState(first)).state) && Date.now() < deadline) await sleep(250);
  const built = events.find((e) => e.type === 'built');
  if (!built || built.type !== 'built') throw new Error(`no warm snapshot: ${JSON.stringify(events)}`);
  console.log(`  driver: warm snapshot built in ${fmt((now() - tBuild) / 1000, 1)} s, state ${fmt(built.stateBytes / 2 ** 20, 0)} MiB`);

  const instant: number[] = [];
  const cold: number[] = [];
  const raw: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    let spec = driverSpec(++n, user.publicKey);
    let t0 = now();
    const outcome = await driver.startInstant(spec);
    if (!outcome.started) throw new Error(`instant start refused: ${outcome.reason}`);
    instant.push((await banner(spec.sshPort, driver.paths(spec.id).dir)) - t0);
    reaper.trackQemu(readPidfile(driver.paths(spec.id).pidfile));
    await driver.destroy(spec.id);
    if (INSTANT_ONLY) {
      console.log(`  driver round ${round}: instant ${fmt(instant.at(-1)! / 1000, 2)} s  phases ${JSON.stringify(phases.at(-1))}`);
      continue;
    }

    spec = driverSpec(++n, user.publicKey);
    t0 = now();
    await driver.create(spec);
    await driver.start(spec.id);
    reaper.trackQemu(readPidfile(driver.paths(spec.id).pidfile));
    cold.push((await banner(spec.sshPort, driver.paths(spec.id).dir)) - t0);
    await driver.destroy(spec.id);

    raw.push(await rawBoot(root, driverSpec(++n, user.publicKey)));
    console.log(`  driver round ${round}: instant ${fmt(instant.at(-1)! / 1000, 2)} s  cold ${fmt(cold.at(-1)! / 1000, 2)} s  raw ${fmt(raw.at(-1)! / 1000, 2)} s  phases ${JSON.stringify(phases.at(-1))}`);
  }

  // The phases of the one-at-a-time restores (the concurrent ones below would skew them).
  const sequential = phases.slice();
  // CONCURRENT instant starts at once.
  const specs = Array.from({ length: CONCURRENT }, () => driverSpec(++n, user.publicKey));
  const t0 = now();
  // Settled, not all-or-nothing: a VM that never answers is counted (and diagnosed), the rest measured.
  const settled = await Promise.allSettled(specs.map(async (s) => {
    const o = await driver.startInstant(s);
    if (!o.started) throw new Error(`${s.id}: ${o.reason}`);
    return (await banner(s.sshPort, driver.paths(s.id).dir)) - t0;
  }));
  const total = now() - t0;
  const outcomes = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  for (const r of settled) if (r.status === 'rejected') console.error(`  concurrent: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`);
  const pids = specs.map((s) => readPidfile(driver.paths(s.id).pidfile));
  pids.forEach((pid) => reaper.trackQemu(pid));
  const rss = pids.map((pid) => memoryOf(pid)?.rssMb ?? NaN);
  const anon = pids.map((pid) => memoryOf(pid)?.anonMb ?? NaN);
  const self = memoryOf(process.pid)?.rssMb ?? NaN;
  for (const s of specs) await driver.destroy(s.id);
  return {
    instant, cold, raw,
    phases: JSON.stringify(Object.fromEntries((Object.keys(sequential[0] ?? {}) as (keyof RestorePhases)[]).map((k) => [k, median(sequential.map((p) => p[k]))]))),
    concurrentTotal: total, concurrentMedian: median(outcomes), concurrentMax: max(outcomes), concurrentOk: outcomes.length,
    qemuRss: sum(rss), qemuAnon: sum(anon), driverProcessRss: self,
  };
}

// ---------------------------------------------------------------- API level

/** POST /api/vms → first SSH banner; and which path the creation took (its action log). */
async function apiCreate(server: BenchServer, user: BenchUser, name: string): Promise<{ ms: number; path: string; id: number; pid?: number }> {
  const t0 = now();
  const vm = await user.api.vms.create({ name, image: 'tiny', size: SIZE, ssh_keys: [user.keyId] });
  const at = await banner(vm.ssh_port!, instancePaths(server.vmsDir, `vm-${vm.id}`).dir);
  await waitStatus(user.api, vm.id, 'running', BOOT_TIMEOUT_MS, 100);
  const pid = readPidfile(instancePaths(server.vmsDir, `vm-${vm.id}`).pidfile);
  reaper.trackQemu(pid);
  const actions = await user.api.vms.actions(vm.id);
  const create = actions.find((a) => a.type === 'create');
  const log = create ? await user.api.actions.log(create.id) : undefined;
  const lines = (log?.lines ?? []).map((l) => l.line);
  const pathTaken = lines.some((l) => l.startsWith('Instant start')) ? 'instant' : (lines.find((l) => l.startsWith('Cold boot')) ?? 'cold');
  return { ms: at - t0, path: pathTaken, id: vm.id, pid };
}

async function apiDestroy(user: BenchUser, id: number): Promise<void> {
  await user.api.vms.action(id, { action: 'destroy', force: true });
  await waitStatus(user.api, id, 'destroyed', 60_000, 100);
}

async function waitForWarm(dataDir: string): Promise<void> {
  const warmDir = path.join(dataDir, 'warm');
  const deadline = Date.now() + WARM_BUILD_TIMEOUT_MS;
  while (Date.now() < deadline) {
    // <key>/meta.json: a finished one (not <key>.tmp/, which has its meta.json just before the rename).
    if (existsSync(warmDir) && readdirSync(warmDir).some((d) => /^[0-9a-f]+$/.test(d) && existsSync(path.join(warmDir, d, 'meta.json')))) return;
    await sleep(500);
  }
  throw new Error(`the server built no warm snapshot within ${WARM_BUILD_TIMEOUT_MS / 1000} s`);
}

async function apiLevel(root: string): Promise<Record<string, number[] | number | string>> {
  const env = { TWARGA_TINY_IMAGE_DIR: TINY_DIR, TWARGA_WARM_SIZES: SIZE };
  for (const d of ['api-instant', 'api-cold']) await mkdir(path.join(root, d));
  // Instant: the server builds the warm snapshot at start.
  const server = await startBenchServer(reaper, path.join(root, 'api-instant'), API_PORTS, { ...env, TWARGA_INSTANT_VMS: 'on' });
  const user = await setupUser(server, path.join(root, 'api-instant'));
  const tBuild = now();
  await waitForWarm(server.dataDir);
  console.log(`  api: warm snapshot ready ${fmt((now() - tBuild) / 1000, 1)} s after the server answered`);
  const instant: number[] = [];
  const paths: string[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const r = await apiCreate(server, user, `instant-${round}`);
    instant.push(r.ms);
    paths.push(r.path);
    console.log(`  api round ${round}: instant POST → banner ${fmt(r.ms / 1000, 2)} s (${r.path})`);
    await apiDestroy(user, r.id);
  }
  const t0 = now();
  const settled = await Promise.allSettled(Array.from({ length: CONCURRENT }, (_, i) => apiCreate(server, user, `many-${i}`)));
  const total = now() - t0;
  const many = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  for (const r of settled) if (r.status === 'rejected') console.error(`  concurrent: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`);
  const qemuRss = sum([...pidfilePids(server.vmsDir).values()].map((pid) => memoryOf(pid)?.rssMb ?? 0));
  const serverRss = memoryOf(server.pid)?.rssMb ?? NaN;
  const manyPaths = many.map((m) => m.path);
  // Every VM of the burst, answered or not.
  for (const vm of await user.api.vms.list()) if (vm.name.startsWith('many-')) await apiDestroy(user, vm.id).catch(() => {});
  await reaper.stopServer();

  // Cold: the same server code with instant VMs off.
  const coldServer = await startBenchServer(reaper, path.join(root, 'api-cold'), API_PORTS, { ...env, TWARGA_INSTANT_VMS: 'off' });
  const coldUser = await setupUser(coldServer, path.join(root, 'api-cold'));
  const cold: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const r = await apiCreate(coldServer, coldUser, `cold-${round}`);
    cold.push(r.ms);
    console.log(`  api round ${round}: cold POST → banner ${fmt(r.ms / 1000, 2)} s`);
    await apiDestroy(coldUser, r.id);
  }
  return {
    instant, cold, paths: paths.join(','),
    concurrentTotal: total, concurrentMedian: median(many.map((m) => m.ms)), concurrentMax: max(many.map((m) => m.ms)), concurrentOk: many.length,
    concurrentPaths: manyPaths.join(','), serverRss, qemuRss,
  };
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  console.log('Twarga Cloud bench: instant VM create vs cold create vs raw QEMU boot, to the SSH banner (tiny image, 256 MiB, 1 vCPU, TCG)');
  for (const line of machineInfo()) console.log(`  ${line}`);
  console.log(`  image ${TINY_DIR}; ${ROUNDS} round(s) each; ${CONCURRENT} concurrent instant creates; level ${LEVEL}\n`);
  const root = reaper.tempDir('twarga-bench-instant-');
  const keyDir = path.join(root, 'keys');
  await mkdir(keyDir);
  let pass = true;
  if (LEVEL === 'driver' || LEVEL === 'both') {
    const { publicKey } = await keyPair(keyDir);
    const d = await driverLevel(root, { publicKey });
    console.log('\nDriver level (QemuDriver in this process)\n');
    console.log(`| Path | median to SSH banner |\n|---|--:|`);
    console.log(`| instant: startInstant → banner | ${secs(d.instant as number[])} |`);
    console.log(`| cold: create + start → banner | ${secs(d.cold as number[])} |`);
    console.log(`| raw QEMU: spawn → banner | ${secs(d.raw as number[])} |`);
    console.log(`\nInstant phases, median ms: ${d.phases}`);
    console.log(`${CONCURRENT} instant at once (${d.concurrentOk} answered): last banner after ${fmt((d.concurrentTotal as number) / 1000, 2)} s (median ${fmt((d.concurrentMedian as number) / 1000, 2)} s, max ${fmt((d.concurrentMax as number) / 1000, 2)} s); ` +
      `QEMU RSS total ${fmt(d.qemuRss as number, 0)} MiB (anon ${fmt(d.qemuAnon as number, 0)} MiB); this process ${fmt(d.driverProcessRss as number, 0)} MiB`);
    pass &&= median(d.instant as number[]) < 1000;
  }
  if (LEVEL === 'api' || LEVEL === 'both') {
    const a = await apiLevel(root);
    console.log('\nAPI level (built server, POST /api/vms → banner)\n');
    console.log(`| Path | median to SSH banner |\n|---|--:|`);
    console.log(`| instant (TWARGA_INSTANT_VMS=on; paths: ${a.paths}) | ${secs(a.instant as number[])} |`);
    console.log(`| cold (TWARGA_INSTANT_VMS=off) | ${secs(a.cold as number[])} |`);
    console.log(`${CONCURRENT} POSTs at once (${a.concurrentOk} answered): last banner after ${fmt((a.concurrentTotal as number) / 1000, 2)} s (median ${fmt((a.concurrentMedian as number) / 1000, 2)} s, max ${fmt((a.concurrentMax as number) / 1000, 2)} s; paths ${a.concurrentPaths}); ` +
      `server RSS ${fmt(a.serverRss as number, 0)} MiB, QEMU RSS total ${fmt(a.qemuRss as number, 0)} MiB`);
    pass &&= median(a.instant as number[]) < 1000;
  }
  console.log(`\nVerdict: ${pass ? 'PASS' : 'FAIL'}  median instant create → SSH banner < 1 s`);
  return pass ? 0 : 1;
}

async function keyPair(dir: string): Promise<{ publicKey: string }> {
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'twarga-bench', '-f', path.join(dir, 'driver')], { timeoutMs: 30_000 });
  return { publicKey: (await readFile(path.join(dir, 'driver.pub'), 'utf8')).trim() };
}

await runBench(reaper, envInt('BENCH_TIMEOUT_S', 3600) * 1000, main);
