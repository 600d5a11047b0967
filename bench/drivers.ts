/**
 * Benchmark: time from "create" to the guest's SSH banner for the built-in tiny image through each
 * compute driver, side by side (qemu, libvirt, vagrant); and our Vagrant driver against
 * `vagrant up` run by hand on the same Vagrantfile.
 *
 *   scripts/lib/run-in-libvirt-netns.sh npm run bench:drivers
 *
 * It must run inside a network namespace with a private libvirtd (the script above makes one and
 * deletes it afterwards): libvirt's and Vagrant's guests get addresses on a NAT bridge that
 * exists only there. BENCH_ROUNDS (default 5) rounds; each boots one VM per driver, then one
 * `vagrant up` by hand, one after the other (never two guests at once), and destroys each.
 *
 * - qemu / libvirt / vagrant: t0 before driver.create(spec), t1 the first "SSH-" banner at the
 *   address the driver reports (qemu: 127.0.0.1:<forwarded port>).
 * - Vagrant overhead: both sides start from the same prepared directory (driver.create(), not
 *   timed). Ours: driver.start(id) (uploads the seed volume, runs `vagrant up`), t1 at the banner.
 *   By hand: the same seed-volume upload the Vagrantfile needs (the same virsh calls), then
 *   `vagrant up <id> --provider=libvirt` spawned in that directory with the same environment,
 *   t1 at the banner. The two alternate in order every round. Ratio ≤ 1.1 is the target.
 * Exit 0 when the ratio target is met. Every wait is bounded; every guest is destroyed.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { seedFiles } from '../apps/server/src/cloudinit/seed-iso.js';
import type { ComputeDriver, InstanceSpec } from '../apps/server/src/compute/driver.js';
import { LibvirtDriver } from '../apps/server/src/compute/libvirt/libvirt-driver.js';
import { QemuDriver } from '../apps/server/src/compute/qemu/qemu-driver.js';
import { VagrantDriver } from '../apps/server/src/compute/vagrant/vagrant-driver.js';
import { freePort } from '../tests/support/server.js';
import { libvirtUnavailable } from '../tests/support/libvirt.js';
import { envInt, firstSshBanner, fmt, machineInfo, median } from './lib/vm-bench.js';

const ROUNDS = envInt('BENCH_ROUNDS', 5);
const TINY_DIR = path.resolve(import.meta.dirname, '../images/tiny/dist');
const BOOT_TIMEOUT_MS = 10 * 60_000;
const TARGET_RATIO = 1.1;
const PROBE = { intervalMs: 200, attemptTimeoutMs: 2_000, maxInFlight: 4, timeoutMs: BOOT_TIMEOUT_MS };

const why = libvirtUnavailable();
if (why) {
  console.error(`bench:drivers needs a private libvirtd: ${why}.\nRun it as: scripts/lib/run-in-libvirt-netns.sh npm run bench:drivers`);
  process.exit(2);
}

const root = mkdtempSync(path.join(os.tmpdir(), 'twarga-bench-drivers-'));
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(root, 'key')]);
const publicKey = readFileSync(path.join(root, 'key.pub'), 'utf8').trim();
const tag = Math.random().toString(36).slice(2, 7);
let n = 0;

const spec = async (): Promise<InstanceSpec> => {
  const id = `vm-${++n}`;
  return {
    id, hostname: `bench-${n}`, memoryMb: 256, vcpus: 1, diskGb: 1, sshPort: await freePort(),
    boot: { kind: 'kernel', kernel: path.join(TINY_DIR, 'vmlinuz'), initrd: path.join(TINY_DIR, 'initrd.img'), cmdline: 'console=ttyS0 panic=-1' },
    seed: seedFiles({ instanceId: id, hostname: `bench-${n}`, sshAuthorizedKeys: [publicKey] }),
    info: { bench: true },
  };
};

const drivers = {
  qemu: new QemuDriver({ vmsDir: path.join(root, 'qemu'), accel: async () => 'tcg', stopTimeoutMs: 10_000 }),
  libvirt: new LibvirtDriver({ uri: 'qemu:///system', namePrefix: `twarga-bench-${tag}-`, domainType: 'qemu', stopTimeoutMs: 10_000 }),
  vagrant: new VagrantDriver({ machinesDir: path.join(root, 'vagrant'), provider: 'libvirt', libvirtUri: 'qemu:///system', libvirtDomainType: 'qemu', domainPrefix: `twarga-bench-v${tag}-` }),
};

/** The first SSH banner where the driver says SSH answers; returns its wall-clock time. */
async function banner(driver: ComputeDriver, s: InstanceSpec): Promise<number> {
  const deadline = Date.now() + BOOT_TIMEOUT_MS;
  for (;;) {
    const endpoint = (await driver.inspect(s.id)).sshEndpoint;
    if (endpoint || driver === drivers.qemu) {
      return firstSshBanner(endpoint?.port ?? s.sshPort, { ...PROBE, host: endpoint?.host });
    }
    if (Date.now() > deadline) throw new Error(`${s.id}: no SSH endpoint reported`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function timeDriver(name: keyof typeof drivers): Promise<number> {
  const driver = drivers[name];
  const s = await spec();
  try {
    const t0 = performance.timeOrigin + performance.now();
    await driver.create(s);
    await driver.start(s.id);
    return (await banner(driver, s)) - t0;
  } finally {
    await driver.destroy(s.id).catch((err: Error) => console.error(`destroy ${name} ${s.id}: ${err.message}`));
  }
}

/** Ours: the driver starts a prepared directory (seed upload + `vagrant up`). */
async function timeVagrantOurs(): Promise<number> {
  const v = drivers.vagrant;
  const a = await spec();
  try {
    await v.create(a);
    const t0 = performance.timeOrigin + performance.now();
    await v.start(a.id);
    return (await banner(v, a)) - t0;
  } finally {
    await v.destroy(a.id).catch(() => {});
  }
}

/** By hand: the same prepared directory, the seed upload the Vagrantfile needs, then `vagrant up`. */
async function timeVagrantByHand(): Promise<number> {
  const v = drivers.vagrant;
  const b = await spec();
  try {
    await v.create(b);
    const dir = path.join(root, 'vagrant', b.id);
    const t0 = performance.timeOrigin + performance.now();
    await (v as unknown as { uploadSeed(id: string): Promise<void> }).uploadSeed(b.id);
    await new Promise<void>((resolve, reject) => {
      const child = spawn('vagrant', ['up', b.id, '--provider=libvirt'], {
        cwd: dir,
        env: { ...process.env, VAGRANT_CHECKPOINT_DISABLE: '1', VAGRANT_DEFAULT_PROVIDER: 'libvirt', VAGRANT_NO_COLOR: '1', VAGRANT_CWD: dir, LIBVIRT_DEFAULT_URI: 'qemu:///system' },
        stdio: 'ignore',
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), BOOT_TIMEOUT_MS);
      child.on('exit', (code) => (clearTimeout(timer), code === 0 ? resolve() : reject(new Error(`vagrant up exited ${code}`))));
    });
    return (await banner(v, b)) - t0;
  } finally {
    await v.destroy(b.id).catch(() => {});
  }
}

const results: Record<string, number[]> = { qemu: [], libvirt: [], vagrant: [], 'vagrant (ours, from prepared dir)': [], 'vagrant up by hand': [] };
try {
  for (let round = 1; round <= ROUNDS; round++) {
    for (const name of ['qemu', 'libvirt', 'vagrant'] as const) {
      const ms = await timeDriver(name);
      results[name]!.push(ms);
      console.error(`round ${round}: ${name} ${fmt(ms / 1000, 2)} s`);
    }
    // Alternate which goes first, so drift hits both sides.
    const [ours, byHand] = round % 2 ? [await timeVagrantOurs(), await timeVagrantByHand()] : [...[await timeVagrantByHand(), await timeVagrantOurs()].reverse()];
    results['vagrant (ours, from prepared dir)']!.push(ours!);
    results['vagrant up by hand']!.push(byHand!);
    console.error(`round ${round}: vagrant ours ${fmt(ours! / 1000, 2)} s, by hand ${fmt(byHand! / 1000, 2)} s`);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}

console.log(`\nDrivers benchmark — tiny image (256 MB, 1 vCPU), software emulation, ${ROUNDS} round(s), seconds from create to SSH banner`);
for (const line of machineInfo()) console.log(`  ${line}`);
console.log('\n| driver | median (s) | min | max | runs |');
console.log('|---|---|---|---|---|');
for (const [name, xs] of Object.entries(results)) {
  console.log(`| ${name} | ${fmt(median(xs) / 1000, 2)} | ${fmt(Math.min(...xs) / 1000, 2)} | ${fmt(Math.max(...xs) / 1000, 2)} | ${xs.map((x) => fmt(x / 1000, 1)).join(', ')} |`);
}
const ratio = median(results['vagrant (ours, from prepared dir)']!) / median(results['vagrant up by hand']!);
console.log(`\nVagrant driver / vagrant up by hand: ${fmt(ratio, 3)} (target ≤ ${TARGET_RATIO}): ${ratio <= TARGET_RATIO ? 'PASS' : 'MISSED'}`);
process.exit(ratio <= TARGET_RATIO ? 0 : 1);
