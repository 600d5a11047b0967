/**
 * Benchmark: time from POST /api/vms to the guest's SSH banner, against a bare
 * qemu-system-x86_64 of the same image, memory, vCPUs, accel and devices to its SSH banner,
 * alternating in one run.
 *
 *   node --conditions=development --import tsx bench/vm-boot.ts      (npm run bench:vm-boot)
 *
 * Target (from the issue): median(product) / median(bare) ≤ 1.2. Exit code 0 when met, 1 when
 * missed or on any error. BENCH_ROUNDS (default 5) measured rounds after BENCH_WARMUP (default 1)
 * unmeasured one(s). Each round boots one product VM and one bare QEMU; the order flips every
 * round (P B, B P, …) so drift hits both sides.
 *
 * Product: t0 just before POST /api/vms {image tiny, size s-1vcpu-256mb, ssh_keys}, t1 the first
 * "SSH-" line on the VM's ssh_port; then destroy (force) through the API, wait for destroyed.
 * Bare: the argv of qemuArgs() from apps/server/src/compute/qemu/args.ts for an equivalent
 * InstanceSpec, minus -daemonize/-pidfile (spawned directly, so we own the PID). The disk
 * (qemu-img create) and the NoCloud seed (writeSeedIso, the server's own code) are made first
 * and timed, so two bare figures come out of one boot: "spawn → banner" (the issue's bare
 * QEMU, the verdict) and "prep + spawn → banner" (the same work the product does).
 *
 * Traffic only to 127.0.0.1. Every wait is bounded; the server, every QEMU (pidfiles, our
 * spawned PIDs, and any QEMU whose argv names our temp dir) and the temp dirs are removed on
 * every exit path, including Ctrl-C and the global time limit. See bench/README-vm.md.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { instancePaths } from '../apps/server/src/compute/qemu/paths.js';
import { argvDifferences, prepareRaw, rawArgv, spawnRawQemu } from './lib/raw-qemu.js';
import type { InstanceSpec } from '../apps/server/src/compute/driver.js';
import { seedFiles } from '../apps/server/src/cloudinit/seed-iso.js';
import {
  Reaper, SerialWatch, alive, envInt, firstSshBanner, fmt, machineInfo, max, median, min, now, readPidfile, runBench, sec,
  serverEnvFromBench, setupUser, startBenchServer, waitStatus, type BenchServer, type BenchUser,
} from './lib/vm-bench.js';

const ROUNDS = envInt('BENCH_ROUNDS', 5);
const WARMUP = envInt('BENCH_WARMUP', 1);
const TARGET_RATIO = 1.2;
const SIZE = 's-1vcpu-256mb';
const PRODUCT_PORTS = process.env.BENCH_SSH_PORTS ?? '26000-26049';
/** Bare QEMUs forward from here up (outside the server's range). */
const BARE_PORT_BASE = envInt('BENCH_BARE_PORT_BASE', 26050);
const BOOT_TIMEOUT_MS = envInt('BENCH_BOOT_TIMEOUT_S', 180) * 1000;
/** Banner probe resolution. */
const PROBE = { intervalMs: 50, attemptTimeoutMs: 1_000, maxInFlight: 20 };
const UP_LINE = /tiny: \S+ up at/;

const reaper = new Reaper('vm-boot');

interface ProductRun {
  kind: 'product';
  label: string;
  /** All times in ms from t0 (just before the POST). */
  total: number;
  post: number;
  seedWritten?: number;
  specWritten?: number;
  qemuPidfile?: number;
  bootedAt?: number;
  runningSeen: number;
  serialFirst?: number;
  guestUp?: number;
  cmdline: string[];
  /** The spec.json the server wrote for this VM. */
  spec: InstanceSpec;
  id: string;
  port: number;
  dir: string;
  hostname: string;
}

interface BareRun {
  kind: 'bare';
  label: string;
  /** spawn → banner (the verdict's bare figure). */
  boot: number;
  /** qemu-img create + seed ISO, before the spawn. */
  prep: number;
  qmpSocket?: number;
  serialFirst?: number;
  guestUp?: number;
  argv: string[];
  id: string;
  port: number;
  dir: string;
  hostname: string;
}

async function mtime(file: string): Promise<number | undefined> {
  return stat(file).then((s) => s.mtimeMs).catch(() => undefined);
}

// ---------------------------------------------------------------- product

async function productRun(server: BenchServer, user: BenchUser, label: string, name: string): Promise<ProductRun> {
  const { api } = user;
  const t0 = now();
  const created = await api.vms.create({ name, image: 'tiny', size: SIZE, ssh_keys: [user.keyId] });
  const tPost = now();
  const id = `vm-${created.id}`;
  const port = created.ssh_port!;
  const p = instancePaths(server.vmsDir, id);
  const serial = new SerialWatch(p.serialLog, UP_LINE);
  const abort = new AbortController();
  try {
    const banner = firstSshBanner(port, { ...PROBE, timeoutMs: BOOT_TIMEOUT_MS, signal: abort.signal });
    const running = waitStatus(api, created.id, 'running', BOOT_TIMEOUT_MS, 100);
    // The status poll may see "running" after the banner; both are awaited.
    const [tBanner, { vm, seenAt }] = await Promise.all([banner, running]);
    serial.stop();
    const pid = readPidfile(p.pidfile);
    reaper.trackQemu(pid);
    const cmdline = pid ? (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean) : [];
    const spec = JSON.parse(await readFile(p.spec, 'utf8')) as InstanceSpec;
    const rel = (t: number | undefined) => (t === undefined ? undefined : t - t0);
    const result: ProductRun = {
      kind: 'product', label, id, port, dir: p.dir, hostname: name, cmdline, spec,
      total: tBanner - t0,
      post: tPost - t0,
      seedWritten: rel(await mtime(p.seed)),
      specWritten: rel(await mtime(p.spec)),
      qemuPidfile: rel(await mtime(p.pidfile)),
      bootedAt: vm.booted_at ? Date.parse(vm.booted_at) - t0 : undefined,
      runningSeen: seenAt - t0,
      serialFirst: rel(serial.firstByteAt),
      guestUp: rel(serial.matchedAt),
    };
    await api.vms.action(created.id, { action: 'destroy', force: true });
    await waitStatus(api, created.id, 'destroyed', 60_000, 100);
    if (pid && alive(pid)) throw new Error(`${label}: QEMU ${pid} still alive after destroy`);
    return result;
  } catch (err) {
    abort.abort();
    serial.stop();
    // Best effort: leave nothing behind for the next round; the reaper catches the rest.
    await api.vms.action(created.id, { action: 'destroy', force: true }).catch(() => {});
    throw err;
  }
}

// ---------------------------------------------------------------- bare QEMU

/**
 * The bare instance: memory, vCPUs, disk size and boot source (kernel, initrd, cmdline) copied
 * from the spec.json the server wrote for a product VM of the same size, so both boot exactly
 * the same thing; only id, hostname, port and the seed's own name differ.
 */
function bareSpec(template: InstanceSpec, n: number, port: number, publicKey: string): InstanceSpec {
  const id = `vm-${900_000 + n}`;
  const hostname = `bare-${n}`;
  return {
    id,
    hostname,
    memoryMb: template.memoryMb,
    vcpus: template.vcpus,
    diskGb: template.diskGb,
    sshPort: port,
    boot: template.boot,
    seed: seedFiles({ instanceId: id, hostname, sshAuthorizedKeys: [publicKey] }),
    info: {},
  };
}

async function bareRun(root: string, user: BenchUser, template: InstanceSpec, label: string, n: number): Promise<BareRun> {
  const port = BARE_PORT_BASE + (n % 40);
  const spec = bareSpec(template, n, port, user.publicKey);
  const p = instancePaths(path.join(root, 'bare', 'vms'), spec.id);
  const argv = rawArgv(spec, p);

  // Preparation, as QemuDriver.create does it (qemu-img create, seed ISO), timed separately.
  const tPrep = now();
  await prepareRaw(spec, p);
  const t0 = now();

  const qemu = spawnRawQemu(argv, p.dir, label, (child) => reaper.trackChild(child));
  const serial = new SerialWatch(p.serialLog, UP_LINE);
  try {
    const tBanner = await firstSshBanner(port, { ...PROBE, timeoutMs: BOOT_TIMEOUT_MS, signal: qemu.abort }).catch((err: Error) => {
      throw qemu.abort.aborted ? (qemu.abort.reason as Error) : err;
    });
    serial.stop();
    const qmp = await stat(p.qmp).then((s) => s.ctimeMs).catch(() => undefined);
    const rel = (t: number | undefined) => (t === undefined ? undefined : t - t0);
    return {
      kind: 'bare', label, id: spec.id, port, dir: p.dir, hostname: spec.hostname, argv,
      boot: tBanner - t0,
      prep: t0 - tPrep,
      qmpSocket: rel(qmp),
      serialFirst: rel(serial.firstByteAt),
      guestUp: rel(serial.matchedAt),
    };
  } finally {
    serial.stop();
    await qemu.stop();
  }
}

// ---------------------------------------------------------------- same argv?

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  console.log('Twarga Cloud bench: POST /api/vms → SSH banner, product vs bare qemu-system-x86_64 (tiny image, s-1vcpu-256mb)');
  for (const line of machineInfo()) console.log(`  ${line}`);
  console.log(`  ${WARMUP} warm-up round(s), ${ROUNDS} measured round(s); banner probe every ${PROBE.intervalMs} ms`);

  const root = reaper.tempDir('twarga-bench-vm-');
  const server = await startBenchServer(reaper, root, PRODUCT_PORTS);
  const user = await setupUser(server, root);
  console.log(`  server ${server.base} (pid ${server.pid}), data in ${server.dataDir}, VM ports ${PRODUCT_PORTS}, bare ports from ${BARE_PORT_BASE}`);
  if (Object.keys(serverEnvFromBench()).length) console.log(`  extra server environment (BENCH_SERVER_ENV): ${process.env.BENCH_SERVER_ENV}`);
  console.log('');

  const products: ProductRun[] = [];
  const bares: BareRun[] = [];
  let n = 0;
  let argvChecked = false;
  for (let round = 1 - WARMUP; round <= ROUNDS; round++) {
    const warm = round <= 0;
    const label = warm ? `warm-up ${round + WARMUP}` : `round ${round}`;
    const productFirst = (round + WARMUP) % 2 === 1;
    for (const kind of productFirst ? (['product', 'bare'] as const) : (['bare', 'product'] as const)) {
      n++;
      if (kind === 'product') {
        const r = await productRun(server, user, label, `boot-${n}`);
        console.log(
          `  ${label.padEnd(10)} product  ${sec(r.total).padStart(6)} s  (POST ${fmt(r.post, 0)} ms, QEMU pidfile ${sec(r.qemuPidfile)} s, ` +
            `running seen ${sec(r.runningSeen)} s, guest up ${sec(r.guestUp)} s)`,
        );
        if (!warm) products.push(r);
        lastProduct = r;
      } else {
        const r = await bareRun(root, user, lastProduct!.spec, label, n);
        console.log(
          `  ${label.padEnd(10)} bare     ${sec(r.boot).padStart(6)} s  (+ prep ${fmt(r.prep, 0)} ms = ${sec(r.boot + r.prep)} s; ` +
            `QMP socket ${sec(r.qmpSocket)} s, guest up ${sec(r.guestUp)} s)`,
        );
        if (!warm) bares.push(r);
        lastBare = r;
      }
      if (!argvChecked && lastProduct && lastBare) {
        argvChecked = true;
        const diffs = argvDifferences(lastProduct, lastBare);
        if (lastProduct.cmdline.length === 0) console.log('  (could not read the product QEMU argv)');
        else if (diffs.length === 0) console.log('  argv check: the product QEMU and the bare one have the same argv (but -daemonize/-pidfile) once dir, id, name and port are masked');
        else throw new Error(`the bare QEMU argv differs from the product's:\n${diffs.join('\n')}`);
      }
    }
  }

  // ------------------------------------------------------------ results
  const mp = median(products.map((r) => r.total));
  const mb = median(bares.map((r) => r.boot));
  const mbPrep = median(bares.map((r) => r.boot + r.prep));
  const ratio = mp / mb;
  const ratioPrep = mp / mbPrep;

  console.log(`\nResults (${new Date().toISOString()}), seconds from t0\n`);
  console.log('| Round | Product: POST → banner | Bare: spawn → banner | Bare: prep + spawn → banner | Bare prep (qemu-img + seed ISO) |');
  console.log('|---|--:|--:|--:|--:|');
  for (let i = 0; i < Math.max(products.length, bares.length); i++) {
    const p = products[i];
    const b = bares[i];
    console.log(`| ${i + 1} | ${sec(p?.total)} | ${sec(b?.boot)} | ${sec(b ? b.boot + b.prep : undefined)} | ${b ? `${fmt(b.prep, 0)} ms` : 'n/a'} |`);
  }
  console.log(`| **median** | **${sec(mp)}** | **${sec(mb)}** | **${sec(mbPrep)}** | ${fmt(median(bares.map((b) => b.prep)), 0)} ms |`);
  console.log(`| min / max | ${sec(min(products.map((r) => r.total)))} / ${sec(max(products.map((r) => r.total)))} | ${sec(min(bares.map((r) => r.boot)))} / ${sec(max(bares.map((r) => r.boot)))} | | |`);

  const m = (f: (r: ProductRun) => number | undefined) => median(products.map(f).filter((x): x is number => x !== undefined));
  const mB = (f: (r: BareRun) => number | undefined) => median(bares.map(f).filter((x): x is number => x !== undefined));
  console.log('\nProduct breakdown (median over the measured rounds, ms from t0 = just before the POST)\n');
  console.log('| Step | Product (from POST) | Bare (from spawn) |');
  console.log('|---|--:|--:|');
  console.log(`| POST /api/vms answered (201) | ${fmt(m((r) => r.post), 0)} | |`);
  console.log(`| seed ISO written (seed.iso mtime) | ${fmt(m((r) => r.seedWritten), 0)} | (prep ${fmt(mB((r) => r.prep), 0)} before spawn) |`);
  console.log(`| spec.json written (end of driver.create) | ${fmt(m((r) => r.specWritten), 0)} | |`);
  console.log(`| QEMU started: qemu.pid (product) / QMP socket (bare) | ${fmt(m((r) => r.qemuPidfile), 0)} | ${fmt(mB((r) => r.qmpSocket), 0)} |`);
  console.log(`| status running: booted_at (server clock) | ${fmt(m((r) => r.bootedAt), 0)} | |`);
  console.log(`| status running: first seen by polling GET /api/vms/{id} every 100 ms | ${fmt(m((r) => r.runningSeen), 0)} | |`);
  console.log(`| first serial output (serial.log, polled every 50 ms) | ${fmt(m((r) => r.serialFirst), 0)} | ${fmt(mB((r) => r.serialFirst), 0)} |`);
  console.log(`| guest "tiny: … up at" line (end of rcS) | ${fmt(m((r) => r.guestUp), 0)} | ${fmt(mB((r) => r.guestUp), 0)} |`);
  console.log(`| SSH banner | ${fmt(mp, 0)} | ${fmt(mb, 0)} |`);
  const guestP = m((r) => (r.guestUp !== undefined && r.qemuPidfile !== undefined ? r.guestUp - r.qemuPidfile : undefined));
  const guestB = mB((r) => (r.guestUp !== undefined && r.qmpSocket !== undefined ? r.guestUp - r.qmpSocket : undefined));
  console.log(`\nGuest boot from QEMU start to the "up" line: product ${fmt(guestP, 0)} ms, bare ${fmt(guestB, 0)} ms (median).`);

  console.log('\nVerdict');
  const pass = Number.isFinite(ratio) && ratio <= TARGET_RATIO;
  console.log(`  ${pass ? 'PASS' : 'FAIL'}  median(product) / median(bare spawn → banner) = ${sec(mp)} / ${sec(mb)} = ${fmt(ratio, 3)} — target ≤ ${TARGET_RATIO}`);
  console.log(`  info  median(product) / median(bare prep + spawn → banner) = ${sec(mp)} / ${sec(mbPrep)} = ${fmt(ratioPrep, 3)} (the same work on both sides)`);
  return pass ? 0 : 1;
}

let lastProduct: ProductRun | undefined;
let lastBare: BareRun | undefined;

await runBench(reaper, envInt('BENCH_TIMEOUT_S', 60 + (ROUNDS + WARMUP) * 2 * (BOOT_TIMEOUT_MS / 1000 + 60)) * 1000, main);
