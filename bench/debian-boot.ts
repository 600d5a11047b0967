/**
 * Benchmark: Debian 12 (the image built here, images/debian/build.sh) from POST /api/vms to the
 * guest's SSH banner, against a raw qemu-system-x86_64 with the same argv to its SSH banner,
 * alternating in one run.
 *
 *   node --conditions=development --import tsx bench/debian-boot.ts      (npm run bench:debian)
 *
 * Target (issue 14): median(product) / median(raw) ≤ 1.1. Exit code 0 when met, 1 when missed or
 * on any error. BENCH_ROUNDS (default 3) measured rounds after BENCH_WARMUP (default 1)
 * unmeasured one(s); each round boots one product VM and one raw QEMU, the order flipping every
 * round. The VM: 1024 MiB, 1 vCPU, a 4 GiB disk (cloud-init grows the 2 GiB image's root on first boot).
 *
 * Product: t0 just before POST /api/vms {image debian-12, ram 1024, cpu 1, disk 4, ssh_keys},
 * t1 the first "SSH-" line on the VM's ssh_port; then destroy (force), wait for destroyed.
 * Raw: the spec.json the server wrote for the product VM (same image, memory, disk, boot source),
 * its own id, name and port; the disk (an overlay on the imported image) and the seed (with the
 * same vendor-data) made as QemuDriver.create makes them, timed apart; qemuArgs()' argv minus
 * -daemonize/-pidfile, spawned by us. The verdict compares spawn → banner ("raw QEMU"); prep +
 * spawn → banner is printed too. The first pair's argvs are compared (masked) and must match.
 *
 * The image comes from the build cache (TWARGA_IMAGE_CACHE, else build.sh's default): the server
 * imports it, or builds it first when the cache is stale (TWARGA_IMAGE_BUILD=auto; not timed).
 * Ports: BENCH_SSH_PORTS (default 28200-28249) for the server's VMs, 28250 and up for the raw
 * ones. Traffic only to 127.0.0.1; every QEMU, the server and the temp dirs are removed on every exit path.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiClient } from '@twarga/contract';
import { defaultImageCacheDir } from '../apps/server/src/config/config.js';
import type { InstanceSpec } from '../apps/server/src/compute/driver.js';
import { instancePaths } from '../apps/server/src/compute/qemu/paths.js';
import { seedFiles } from '../apps/server/src/cloudinit/seed-iso.js';
import { argvDifferences, prepareRaw, rawArgv, spawnRawQemu } from './lib/raw-qemu.js';
import {
  Reaper, SerialWatch, alive, diagnoseGuest, envInt, firstSshBanner, fmt, machineInfo, max, median, min, now, readPidfile, runBench, sec,
  setupUser, startBenchServer, waitStatus, type BenchServer, type BenchUser,
} from './lib/vm-bench.js';

const ROUNDS = envInt('BENCH_ROUNDS', 3);
const WARMUP = envInt('BENCH_WARMUP', 1);
const TARGET_RATIO = 1.1;
const SHAPE = { ram: 1024, cpu: 1, disk: 4 };
const PRODUCT_PORTS = process.env.BENCH_SSH_PORTS ?? '28200-28249';
const RAW_PORT_BASE = envInt('BENCH_RAW_PORT_BASE', 28250);
const BOOT_TIMEOUT_MS = envInt('BENCH_BOOT_TIMEOUT_S', 420) * 1000;
const CACHE = process.env.TWARGA_IMAGE_CACHE || defaultImageCacheDir();
/**
 * At most 2 attempts in flight, each given 15 s. OpenSSH forks and re-executes itself for every
 * connection, and under TCG the banner can take seconds: a probe that gave up after 1 s (with 3 in
 * flight every 100 ms) filled sshd's accept queue (127 waiting) and the banner never came.
 */
const PROBE = { intervalMs: 250, attemptTimeoutMs: 15_000, maxInFlight: 2 };
/** The serial getty's prompt: it comes after the banner, so only the first serial byte is reported (the watch needs a pattern). */
const LOGIN_LINE = / login: /;

const reaper = new Reaper('debian-boot');

interface Run {
  label: string;
  /** ms, t0 → banner: product from just before the POST, raw from the spawn. */
  total: number;
  /** Product: the POST answered; raw: disk + seed made before the spawn. */
  before: number;
  serialFirst?: number;
  id: string;
  port: number;
  dir: string;
  hostname: string;
}
interface ProductRun extends Run {
  cmdline: string[];
  spec: InstanceSpec;
  qemuPidfile?: number;
}
interface RawRun extends Run {
  argv: string[];
}

async function banner(port: number, dir: string, signal?: AbortSignal): Promise<number> {
  try {
    return await firstSshBanner(port, { ...PROBE, timeoutMs: BOOT_TIMEOUT_MS, signal });
  } catch (err) {
    if (!signal?.aborted) {
      const tail = await readFile(path.join(dir, 'serial.log'), 'latin1').then((t) => t.split('\n').slice(-15).join('\n    '), () => '(no serial log)');
      console.error(`  no banner from ${dir}:\n    ${await diagnoseGuest(dir)}\n    serial tail:\n    ${tail}`);
    }
    throw err;
  }
}

async function productRun(server: BenchServer, user: BenchUser, label: string, name: string): Promise<ProductRun> {
  const t0 = now();
  const created = await user.api.vms.create({ name, image: 'debian-12', ...SHAPE, ssh_keys: [user.keyId] });
  const tPost = now();
  const id = `vm-${created.id}`;
  const p = instancePaths(server.vmsDir, id);
  const serial = new SerialWatch(p.serialLog, LOGIN_LINE, 100);
  try {
    const tBanner = await banner(created.ssh_port!, p.dir);
    serial.stop();
    const pid = readPidfile(p.pidfile);
    reaper.trackQemu(pid);
    const cmdline = pid ? (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean) : [];
    const spec = JSON.parse(await readFile(p.spec, 'utf8')) as InstanceSpec;
    const pidfileAt = await stat(p.pidfile).catch(() => undefined);
    const rel = (t: number | undefined) => (t === undefined ? undefined : t - t0);
    const result: ProductRun = {
      label, id, port: created.ssh_port!, dir: p.dir, hostname: name, cmdline, spec,
      total: tBanner - t0, before: tPost - t0, qemuPidfile: rel(pidfileAt?.mtimeMs), serialFirst: rel(serial.firstByteAt),
    };
    await user.api.vms.action(created.id, { action: 'destroy', force: true });
    await waitStatus(user.api, created.id, 'destroyed', 120_000, 200);
    if (pid && alive(pid)) throw new Error(`${label}: QEMU ${pid} still alive after destroy`);
    return result;
  } catch (err) {
    serial.stop();
    await user.api.vms.action(created.id, { action: 'destroy', force: true }).catch(() => {});
    throw err;
  }
}

/** The product VM's spec with this instance's own id, name, port and seed (the same image, memory, disk and boot source). */
function rawSpec(template: InstanceSpec, n: number, publicKey: string): InstanceSpec {
  const id = `vm-${900_000 + n}`;
  const hostname = `raw-${n}`;
  return {
    id, hostname, memoryMb: template.memoryMb, vcpus: template.vcpus, diskGb: template.diskGb, boot: template.boot,
    sshPort: RAW_PORT_BASE + (n % 40),
    seed: seedFiles({ instanceId: id, hostname, sshAuthorizedKeys: [publicKey] }),
    info: {},
  };
}

async function rawRun(root: string, user: BenchUser, template: InstanceSpec, label: string, n: number): Promise<RawRun> {
  const spec = rawSpec(template, n, user.publicKey);
  const p = instancePaths(path.join(root, 'raw', 'vms'), spec.id);
  const argv = rawArgv(spec, p);
  const tPrep = now();
  await prepareRaw(spec, p);
  const t0 = now();
  const qemu = spawnRawQemu(argv, p.dir, label, (child) => reaper.trackChild(child));
  const serial = new SerialWatch(p.serialLog, LOGIN_LINE, 100);
  try {
    const tBanner = await banner(spec.sshPort, p.dir, qemu.abort).catch((err: Error) => {
      throw qemu.abort.aborted ? (qemu.abort.reason as Error) : err;
    });
    serial.stop();
    const rel = (t: number | undefined) => (t === undefined ? undefined : t - t0);
    return {
      label, id: spec.id, port: spec.sshPort, dir: p.dir, hostname: spec.hostname, argv,
      total: tBanner - t0, before: t0 - tPrep, serialFirst: rel(serial.firstByteAt),
    };
  } finally {
    serial.stop();
    await qemu.stop();
  }
}

async function main(): Promise<number> {
  console.log(`Twarga Cloud bench: Debian 12 (built here), POST /api/vms → SSH banner vs raw qemu-system-x86_64 with the same argv (${SHAPE.ram} MiB, ${SHAPE.cpu} vCPU, ${SHAPE.disk} GiB)`);
  for (const line of machineInfo()) console.log(`  ${line}`);
  console.log(`  ${WARMUP} warm-up round(s), ${ROUNDS} measured round(s); banner probe every ${PROBE.intervalMs} ms; image cache ${CACHE}`);

  const root = reaper.tempDir('twarga-bench-debian-');
  const server = await startBenchServer(reaper, root, PRODUCT_PORTS, { TWARGA_IMAGE_BUILD: 'auto', TWARGA_IMAGE_CACHE: CACHE });
  const adminApi = new ApiClient({ baseUrl: server.base, token: (await new ApiClient({ baseUrl: server.base }).auth.login('admin', server.adminPassword)).access_token });
  // A stale cache is rebuilt by the server (or waited for, when a build already runs); not timed.
  const deadline = Date.now() + 30 * 60_000;
  let said = '';
  for (;;) {
    const img = (await adminApi.images.list()).find((i) => i.slug === 'debian-12');
    if (img?.status === 'available') break;
    if (img?.status === 'error' || Date.now() > deadline) throw new Error(`debian-12 not available: ${img?.status} ${img?.error ?? ''}`);
    const now = `${img?.status}${img?.status === 'building' ? ` ${Math.round((img.progress ?? 0) * 100)}%` : ''}`;
    if (now !== said) console.log(`  debian-12: ${(said = now)}`);
    await sleep(1000);
  }
  const user = await setupUser(server, root);
  console.log(`  server ${server.base} (pid ${server.pid}), VM ports ${PRODUCT_PORTS}, raw ports from ${RAW_PORT_BASE}\n`);

  const products: ProductRun[] = [];
  const raws: RawRun[] = [];
  let lastProduct: ProductRun | undefined;
  let argvChecked = false;
  let n = 0;
  for (let round = 1 - WARMUP; round <= ROUNDS; round++) {
    const warm = round <= 0;
    const label = warm ? `warm-up ${round + WARMUP}` : `round ${round}`;
    // The product goes first in the first round: the raw QEMU copies its spec.
    const order = (round + WARMUP) % 2 === 1 || !lastProduct ? (['product', 'raw'] as const) : (['raw', 'product'] as const);
    for (const kind of order) {
      n++;
      if (kind === 'product') {
        const r = await productRun(server, user, label, `deb-${n}`);
        console.log(`  ${label.padEnd(10)} product ${sec(r.total).padStart(6)} s  (POST ${fmt(r.before, 0)} ms, QEMU pidfile ${sec(r.qemuPidfile)} s, first serial output ${sec(r.serialFirst)} s)`);
        if (!warm) products.push(r);
        lastProduct = r;
      } else {
        const r = await rawRun(root, user, lastProduct!.spec, label, n);
        console.log(`  ${label.padEnd(10)} raw     ${sec(r.total).padStart(6)} s  (+ prep ${fmt(r.before, 0)} ms = ${sec(r.total + r.before)} s; first serial output ${sec(r.serialFirst)} s)`);
        if (!warm) raws.push(r);
        if (!argvChecked) {
          argvChecked = true;
          if (lastProduct!.cmdline.length === 0) throw new Error('could not read the product QEMU argv');
          const diffs = argvDifferences(lastProduct!, r);
          if (diffs.length) throw new Error(`the raw QEMU argv differs from the product's:\n${diffs.join('\n')}`);
          console.log('  argv check: the product QEMU and the raw one have the same argv (but -daemonize/-pidfile) once dir, id, name and port are masked');
        }
      }
    }
  }

  const mp = median(products.map((r) => r.total));
  const mr = median(raws.map((r) => r.total));
  const mrPrep = median(raws.map((r) => r.total + r.before));
  const ratio = mp / mr;
  console.log(`\nResults (${new Date().toISOString()}), seconds\n`);
  console.log('| Round | Product: POST → banner | Raw QEMU: spawn → banner | Raw: prep + spawn → banner |');
  console.log('|---|--:|--:|--:|');
  for (let i = 0; i < Math.max(products.length, raws.length); i++) {
    const p = products[i];
    const r = raws[i];
    console.log(`| ${i + 1} | ${sec(p?.total)} | ${sec(r?.total)} | ${sec(r ? r.total + r.before : undefined)} |`);
  }
  console.log(`| **median** | **${sec(mp)}** | **${sec(mr)}** | **${sec(mrPrep)}** |`);
  console.log(`| min / max | ${sec(min(products.map((r) => r.total)))} / ${sec(max(products.map((r) => r.total)))} | ${sec(min(raws.map((r) => r.total)))} / ${sec(max(raws.map((r) => r.total)))} | |`);
  const mP = (f: (r: ProductRun) => number | undefined) => median(products.map(f).filter((x): x is number => x !== undefined));
  const mR = (f: (r: RawRun) => number | undefined) => median(raws.map(f).filter((x): x is number => x !== undefined));
  console.log(`\nMedians: POST answered ${fmt(mP((r) => r.before), 0)} ms; QEMU pidfile ${fmt(mP((r) => r.qemuPidfile), 0)} ms; raw prep (qemu-img overlay + seed ISO) ${fmt(mR((r) => r.before), 0)} ms;`);
  console.log(`  first serial output: product ${fmt(mP((r) => r.serialFirst), 0)} ms from t0, raw ${fmt(mR((r) => r.serialFirst), 0)} ms from spawn.`);
  console.log('\nVerdict');
  const pass = Number.isFinite(ratio) && ratio <= TARGET_RATIO;
  console.log(`  ${pass ? 'PASS' : 'FAIL'}  median(product) / median(raw spawn → banner) = ${sec(mp)} / ${sec(mr)} = ${fmt(ratio, 3)} — target ≤ ${TARGET_RATIO}`);
  console.log(`  info  median(product) / median(raw prep + spawn → banner) = ${sec(mp)} / ${sec(mrPrep)} = ${fmt(mp / mrPrep, 3)} (the same work on both sides)`);
  return pass ? 0 : 1;
}

await runBench(reaper, envInt('BENCH_TIMEOUT_S', 120 + (ROUNDS + WARMUP) * 2 * (BOOT_TIMEOUT_MS / 1000 + 60)) * 1000, main);
