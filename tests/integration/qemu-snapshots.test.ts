import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { seedFiles } from '../../apps/server/src/cloudinit/seed-iso.js';
import type { InstanceSpec } from '../../apps/server/src/compute/driver.js';
import { imageInfo } from '../../apps/server/src/compute/qemu/qemu-img.js';
import { QemuDriver } from '../../apps/server/src/compute/qemu/qemu-driver.js';
import { sshExec, waitForSshBanner } from '../../apps/server/src/test-support/ssh.js';
import { root } from '../support/server.js';

/** The image under test: the built one, or another build (TWARGA_TINY_IMAGE_DIR) before it is swapped in. */
const TINY_DIR = process.env.TWARGA_TINY_IMAGE_DIR ?? path.join(root, 'images/tiny/dist');

/** This file's SSH ports (tests/support/port-ranges.test.ts keeps test files apart). */
const PORTS = { TWARGA_SSH_PORTS: '24300-24349' };
const [PORT_FROM, PORT_TO] = PORTS.TWARGA_SSH_PORTS.split('-').map(Number) as [number, number];
let nextPort = PORT_FROM;

/** The next port of the range nothing listens on. */
async function sshPort(): Promise<number> {
  while (nextPort <= PORT_TO) {
    const port = nextPort++;
    const free = await new Promise<boolean>((resolve) => {
      const s = createServer().once('error', () => resolve(false)).listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port left in ${PORTS.TWARGA_SSH_PORTS}`);
}

const GiB = 1024 ** 3;

/**
 * Snapshots, restore, create-from-snapshot, resize and rebuild on the QEMU driver, with real QEMU
 * (software emulation) and the tiny image: what the guest sees afterwards, over SSH.
 */
describe('qemu driver: snapshots, restore, resize, rebuild', () => {
  let dir: string;
  let driver: QemuDriver;
  let privateKey: string;
  let publicKey: string;
  const timings: Record<string, number> = {};
  const sizes: Record<string, number> = {};

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'twarga-qemu-snap-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'key')], { timeout: 30_000 });
    privateKey = readFileSync(path.join(dir, 'key'), 'utf8');
    publicKey = readFileSync(path.join(dir, 'key.pub'), 'utf8').trim();
    driver = new QemuDriver({ vmsDir: path.join(dir, 'vms'), snapshotsDir: path.join(dir, 'snapshots'), accel: async () => 'tcg', stopTimeoutMs: 30_000 });
  });
  after(async () => {
    for (const id of await driver.list()) await driver.destroy(id).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    console.log(`qemu-snapshots timings (ms): ${JSON.stringify(timings)} sizes (bytes): ${JSON.stringify(sizes)}`);
  });

  const specFor = async (id: string, over: Partial<InstanceSpec> = {}): Promise<InstanceSpec> => ({
    id,
    hostname: `snap-${id}`,
    memoryMb: 256,
    vcpus: 1,
    diskGb: 1,
    sshPort: await sshPort(),
    boot: { kind: 'kernel', kernel: path.join(TINY_DIR, 'vmlinuz'), initrd: path.join(TINY_DIR, 'initrd.img'), cmdline: 'console=ttyS0 panic=-1' },
    seed: seedFiles({ instanceId: `${id}-${Date.now()}`, hostname: `snap-${id}`, sshAuthorizedKeys: [publicKey] }),
    info: { name: `snap-${id}` },
    ...over,
  });
  const ssh = async (spec: InstanceSpec, command: string) => {
    await waitForSshBanner(spec.sshPort, 240_000);
    return (await sshExec({ port: spec.sshPort, privateKey, command, timeoutMs: 60_000 })).trim();
  };
  const timed = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    const out = await fn();
    timings[name] = Date.now() - t0;
    return out;
  };
  /** The guest's dropbear host key fingerprint as SSH clients see it (from the banner exchange). */
  const hostKey = async (spec: InstanceSpec) => {
    await waitForSshBanner(spec.sshPort, 240_000);
    return execFileSync('ssh-keyscan', ['-p', String(spec.sshPort), '-t', 'ed25519,ecdsa,rsa', '127.0.0.1'], { timeout: 60_000, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split(' ').slice(1).join(' '))
      .sort()
      .join('\n');
  };

  let first: InstanceSpec;

  test('a snapshot of a running VM is point-in-time: restoring it brings back what was written before, not after', async () => {
    first = await specFor('vm-1');
    await driver.create(first);
    await driver.start(first.id);
    await ssh(first, 'echo before-snapshot > /data/before.txt && dd if=/dev/urandom of=/data/blob bs=1M count=20 2>/dev/null && sync');
    const blobSum = await ssh(first, 'md5sum /data/blob');

    const result = await timed('snapshot_running_disk', () => driver.createSnapshot(first.id, 'snap-1', { memory: false }));
    assert.equal(result.memory, false);
    assert.equal(result.quiesced, true, 'the guest agent froze /data while the copy started');
    const snapDir = path.join(dir, 'snapshots', 'snap-1');
    const meta = JSON.parse(readFileSync(path.join(snapDir, 'meta.json'), 'utf8'));
    assert.equal(meta.source_instance, first.id);
    assert.equal(meta.memory, null);
    assert.equal(result.sizeBytes, meta.disk.bytes);
    sizes.disk_snapshot_bytes = result.sizeBytes;
    // Standalone: no backing file, so it outlives the VM's disk; sparse: the 20 MB written, not the whole GiB.
    const info = await imageInfo(path.join(snapDir, 'disk.qcow2'));
    assert.equal(info.backing, undefined);
    assert.equal(info.virtualBytes, 1 * GiB);
    assert.ok(result.sizeBytes > 20e6 && result.sizeBytes < 300e6, `snapshot size ${result.sizeBytes}`);
    assert.deepEqual(await driver.listSnapshots(), ['snap-1']);
    // The VM kept running, thawed: it can still write.
    await ssh(first, 'echo after-snapshot > /data/after.txt && sync');

    const restored = await timed('restore_disk', () => driver.restoreSnapshot(first.id, 'snap-1'));
    assert.deepEqual(restored, { running: false });
    assert.equal((await driver.inspect(first.id)).state, 'stopped');
    await driver.start(first.id);
    assert.equal(await ssh(first, 'cat /data/before.txt'), 'before-snapshot');
    assert.equal(await ssh(first, 'md5sum /data/blob'), blobSum);
    assert.equal(await ssh(first, 'test -e /data/after.txt && echo present || echo absent'), 'absent');
  });

  test('a memory snapshot: restoring it resumes the running guest where it was (RAM-only files, uptime)', async () => {
    await ssh(first, 'echo in-ram > /tmp/ram.txt');
    const uptimeBefore = Number((await ssh(first, 'cut -d" " -f1 /proc/uptime')));
    const result = await timed('snapshot_running_memory', () => driver.createSnapshot(first.id, 'snap-2', { memory: true }));
    assert.equal(result.memory, true);
    const snapDir = path.join(dir, 'snapshots', 'snap-2');
    const meta = JSON.parse(readFileSync(path.join(snapDir, 'meta.json'), 'utf8'));
    assert.equal(meta.memory.memory_mb, 256);
    assert.match(meta.memory.sha256, /^[0-9a-f]{64}$/);
    assert.equal(result.sizeBytes, meta.disk.bytes + meta.memory.bytes);
    sizes.memory_snapshot_bytes = result.sizeBytes;
    sizes.memory_state_bytes = meta.memory.bytes;
    assert.ok(meta.memory.bytes > 10e6, `RAM state ${meta.memory.bytes} bytes`);
    // It ran on after the snapshot (cont), and RAM-only changes after it must vanish on restore.
    assert.equal((await driver.inspect(first.id)).paused, undefined);
    await ssh(first, 'echo later > /tmp/later.txt && echo later > /data/later.txt && sync');

    // Long enough for a guest clock left at the snapshot's time to be visibly behind.
    await new Promise((r) => setTimeout(r, 15_000));
    const restored = await timed('restore_memory', () => driver.restoreSnapshot(first.id, 'snap-2'));
    assert.deepEqual(restored, { running: true });
    const state = await driver.inspect(first.id);
    assert.equal(state.state, 'running');
    assert.equal(state.paused, undefined);
    assert.equal(await ssh(first, 'cat /tmp/ram.txt'), 'in-ram');
    assert.equal(await ssh(first, 'test -e /tmp/later.txt || test -e /data/later.txt && echo present || echo absent'), 'absent');
    // The same boot continues: a fresh boot would have lost /tmp and restarted its uptime near zero.
    const uptimeAfter = Number(await ssh(first, 'cut -d" " -f1 /proc/uptime'));
    assert.ok(uptimeAfter >= uptimeBefore, `uptime ${uptimeAfter} s after restore, ${uptimeBefore} s at the snapshot`);
    // Its wall clock was set to the host's on resume (not left 15 s behind).
    const skew = Math.abs(Number(await ssh(first, 'date +%s')) - Date.now() / 1000);
    assert.ok(skew < 8, `guest clock ${skew.toFixed(1)} s off the host's`);
    // /data still works (the disk under the restored RAM is the snapshot's).
    assert.equal(await ssh(first, 'cat /data/before.txt && echo ok > /data/ok.txt && sync && cat /data/ok.txt'), 'before-snapshot\nok');
  });

  test('a memory snapshot of a stopped VM is a disk snapshot; a RAM state refuses a VM of another shape, loads onto a grown disk', async () => {
    await driver.stop(first.id);
    const diskOnly = await driver.createSnapshot(first.id, 'snap-3', { memory: true });
    assert.equal(diskOnly.memory, false);
    assert.equal(diskOnly.quiesced, false);
    assert.ok(!existsSync(path.join(dir, 'snapshots', 'snap-3', 'memory.state')));
    await driver.deleteSnapshot('snap-3');

    await driver.resize(first.id, { memoryMb: 320, vcpus: 1, diskGb: 1 });
    await assert.rejects(driver.restoreSnapshot(first.id, 'snap-2'), /saved with 256 MB and 1 vCPU\(s\), the instance now has 320 MB/);
    // Refused before anything changed: still stopped, its disk untouched.
    assert.equal((await driver.inspect(first.id)).state, 'stopped');
    // Back to its shape, with a larger disk than at the snapshot: the RAM state loads onto the grown disk.
    await driver.resize(first.id, { memoryMb: 256, vcpus: 1, diskGb: 2 });
    assert.deepEqual(await driver.restoreSnapshot(first.id, 'snap-2'), { running: true });
    assert.equal(await ssh(first, 'cat /tmp/ram.txt'), 'in-ram');
    assert.equal((await imageInfo(path.join(dir, 'vms', first.id, 'disk.qcow2'), { shared: true })).virtualBytes, 2 * GiB);
  });

  test('a new VM from a snapshot starts with its /data, on a disk of its own, with its own host keys', async () => {
    await driver.start(first.id); // running already when the test before passed
    const firstKey = await hostKey(first);
    assert.ok(firstKey, 'ssh-keyscan read the host keys');
    const spec = await specFor('vm-2', { diskGb: 2, fromSnapshot: 'snap-1' });
    await timed('create_from_snapshot', () => driver.create(spec));
    const info = await imageInfo(path.join(dir, 'vms', spec.id, 'disk.qcow2'));
    assert.equal(info.backing, undefined, 'a copy, not an overlay on the snapshot');
    assert.equal(info.virtualBytes, 2 * GiB);
    // The snapshot can go at once: the new VM does not need it.
    await driver.deleteSnapshot('snap-1');
    assert.deepEqual(await driver.listSnapshots(), ['snap-2']);
    await driver.deleteSnapshot('snap-1');

    await driver.start(spec.id);
    assert.equal(await ssh(spec, 'cat /data/before.txt'), 'before-snapshot');
    assert.equal(await ssh(spec, 'hostname'), 'snap-vm-2');
    const newKey = await hostKey(spec);
    await driver.stop(first.id, { force: true });
    await driver.stop(spec.id);
    assert.notEqual(newKey, firstKey, 'a VM made from a snapshot has new SSH host keys');
  });

  test('resize: a stopped VM gets more RAM, vCPUs and a larger /data; running VMs and shrinking disks are refused', async () => {
    const spec = JSON.parse(readFileSync(path.join(dir, 'vms', 'vm-2', 'spec.json'), 'utf8')) as InstanceSpec;
    await assert.rejects(driver.resize(spec.id, { memoryMb: 256, vcpus: 1, diskGb: 1 }), /disks only grow/);
    await driver.resize(spec.id, { memoryMb: 512, vcpus: 2, diskGb: 3 });
    const saved = JSON.parse(readFileSync(path.join(dir, 'vms', spec.id, 'spec.json'), 'utf8')) as InstanceSpec;
    assert.deepEqual([saved.memoryMb, saved.vcpus, saved.diskGb], [512, 2, 3]);
    assert.equal((await imageInfo(path.join(dir, 'vms', spec.id, 'disk.qcow2'))).virtualBytes, 3 * GiB);

    await driver.start(spec.id);
    await assert.rejects(driver.resize(spec.id, { memoryMb: 1024, vcpus: 2, diskGb: 3 }), /needs the instance stopped/);
    const memKb = Number(/MemTotal:\s+(\d+)/.exec(await ssh(spec, 'cat /proc/meminfo'))?.[1]);
    assert.ok(memKb > 400 * 1024 && memKb <= 512 * 1024, `MemTotal ${memKb} kB`);
    assert.equal(await ssh(spec, 'grep -c ^processor /proc/cpuinfo'), '2');
    assert.equal(Number(await ssh(spec, 'cat /sys/block/vda/size')) * 512, 3 * GiB);
    // The guest grew its ext4 to the disk at boot, keeping the files.
    const dataKb = Number((await ssh(spec, 'df -k /data | tail -1')).split(/\s+/)[1]);
    assert.ok(dataKb > 2.5 * 1024 * 1024, `/data is ${dataKb} kB`);
    assert.equal(await ssh(spec, 'cat /data/before.txt'), 'before-snapshot');
    await driver.stop(spec.id);
  });

  test('rebuild: a fresh disk (old files gone), same SSH port and keys; refused while running', async () => {
    const spec = JSON.parse(readFileSync(path.join(dir, 'vms', 'vm-2', 'spec.json'), 'utf8')) as InstanceSpec;
    await driver.start(spec.id);
    await assert.rejects(driver.rebuild(spec), /needs the instance stopped/);
    await driver.stop(spec.id);
    const rebuilt = { ...spec, seed: seedFiles({ instanceId: `vm-2-rebuilt-${Date.now()}`, hostname: spec.hostname, sshAuthorizedKeys: [publicKey] }) };
    await timed('rebuild', () => driver.rebuild(rebuilt));
    assert.equal((await driver.inspect(spec.id)).state, 'stopped');
    const info = await imageInfo(path.join(dir, 'vms', spec.id, 'disk.qcow2'));
    assert.equal(info.virtualBytes, 3 * GiB, 'the disk keeps its size');
    assert.ok(info.actualBytes < 5e6, `a blank disk (${info.actualBytes} bytes used)`);

    await driver.start(spec.id);
    assert.equal(await ssh(spec, 'test -e /data/before.txt && echo present || echo absent'), 'absent');
    assert.equal(await ssh(spec, 'grep " /data " /proc/mounts | cut -d" " -f3'), 'ext4');
    await driver.stop(spec.id, { force: true });
  });
});
