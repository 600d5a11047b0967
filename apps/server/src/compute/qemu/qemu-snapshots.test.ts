import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { InstanceInspection, InstanceSpec } from '../driver.js';
import type { QemuInstanceHost } from './instance-host.js';
import { QemuMaintenance } from './qemu-maintenance.js';
import { createDisk, imageInfo } from './qemu-img.js';
import { memoryMismatch, QemuSnapshots } from './qemu-snapshots.js';
import { instancePaths } from './paths.js';
import { QEMU_ARGS_VERSION } from './args.js';

const GiB = 1024 ** 3;

/**
 * The stopped-instance paths of snapshots, restore, resize and rebuild, with real qemu-img on real
 * files and a host whose instance state the test sets (the running paths need QEMU: see
 * tests/integration/qemu-snapshots.test.ts).
 */
class FakeHost {
  state: InstanceInspection['state'] = 'stopped';
  stops: { id: string; force?: boolean }[] = [];
  failCreate = false;
  constructor(readonly vmsDir: string) {}
  paths(id: string) {
    return instancePaths(this.vmsDir, id);
  }
  async inspect(id: string): Promise<InstanceInspection> {
    return { state: id === 'vm-1' ? this.state : 'missing' };
  }
  async stop(id: string, options: { force?: boolean } = {}) {
    this.stops.push({ id, force: options.force });
    this.state = 'stopped';
  }
  async create(spec: InstanceSpec) {
    const p = this.paths(spec.id);
    mkdirSync(p.dir, { recursive: true });
    if (this.failCreate) throw new Error('seed writer broke');
    if (!existsSync(p.disk)) await createDisk(p.disk, spec.diskGb);
    writeFileSync(p.spec, JSON.stringify(spec));
  }
  get qemuBinary() {
    return 'qemu-system-x86_64';
  }
}

/** Writes `text` at offset 0 of a qcow2 (qemu-io), the way a guest would. */
const writeAt0 = (file: string, text: string, offset = 0) => {
  const hex = Buffer.from(text).toString('hex');
  // qemu-io's write -P writes one repeated byte: write the text byte by byte instead.
  for (let i = 0; i < text.length; i++) execFileSync('qemu-io', ['-f', 'qcow2', '-c', `write -q -P 0x${hex.slice(i * 2, i * 2 + 2)} ${offset + i * 512} 512`, file], { timeout: 30_000 });
};
/** The first byte of each 512-byte sector written by writeAt0, read back as text. */
const readAt0 = (file: string, length: number, offset = 0) => {
  let out = '';
  for (let i = 0; i < length; i++) {
    const dump = execFileSync('qemu-io', ['-f', 'qcow2', '-r', '-c', `read -v ${offset + i * 512} 1`, file], { timeout: 30_000, encoding: 'utf8' });
    out += String.fromCharCode(parseInt(/^[0-9a-f]+:\s+([0-9a-f]{2})/m.exec(dump)![1]!, 16));
  }
  return out;
};

describe('qemu snapshots and maintenance of stopped instances (real qemu-img)', () => {
  let dir: string;
  let host: FakeHost;
  let snaps: QemuSnapshots;
  let maint: QemuMaintenance;
  const spec = (over: Partial<InstanceSpec> = {}): InstanceSpec => ({
    id: 'vm-1',
    hostname: 'h',
    memoryMb: 256,
    vcpus: 1,
    diskGb: 1,
    sshPort: 2222,
    boot: { kind: 'kernel', kernel: '/k', initrd: '/i', cmdline: '' },
    seed: { metaData: '', userData: '' },
    info: {},
    ...over,
  });

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'twarga-snapunit-'));
    host = new FakeHost(path.join(dir, 'vms'));
    snaps = new QemuSnapshots(host as unknown as QemuInstanceHost, path.join(dir, 'snapshots'));
    maint = new QemuMaintenance(host as unknown as QemuInstanceHost);
    // An instance whose disk reads through to a base image: the snapshot must flatten it.
    const base = path.join(dir, 'base.qcow2');
    await createDisk(base, 1);
    writeAt0(base, 'BASE', 4096);
    await host.create(spec());
    rmSync(host.paths('vm-1').disk);
    await createDisk(host.paths('vm-1').disk, 1, { path: base, format: 'qcow2' });
    writeAt0(host.paths('vm-1').disk, 'one');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a snapshot of a stopped instance is a standalone copy of its disk (backing flattened) with a record', async () => {
    const r = await snaps.create('vm-1', 'snap-1', { memory: true });
    assert.deepEqual({ memory: r.memory, quiesced: r.quiesced }, { memory: false, quiesced: false });
    const disk = path.join(dir, 'snapshots', 'snap-1', 'disk.qcow2');
    const info = await imageInfo(disk);
    assert.equal(info.backing, undefined);
    assert.equal(readAt0(disk, 3), 'one');
    assert.equal(readAt0(disk, 4, 4096), 'BASE', 'the base image content is in the copy');
    const meta = JSON.parse(readFileSync(path.join(dir, 'snapshots', 'snap-1', 'meta.json'), 'utf8'));
    assert.equal(meta.source_instance, 'vm-1');
    assert.equal(meta.memory, null);
    assert.equal(meta.size_bytes, r.sizeBytes);
    assert.ok(r.sizeBytes > 0);
    assert.ok(!Number.isNaN(Date.parse(meta.created_at)));
    assert.deepEqual(await snaps.list(), ['snap-1']);
  });

  test('taking a snapshot again replaces it; leftovers of an interrupted one are cleaned; list shows snap-<n> only', async () => {
    writeAt0(host.paths('vm-1').disk, 'two');
    mkdirSync(path.join(dir, 'snapshots', '.snap-1.tmp-crashed'));
    mkdirSync(path.join(dir, 'snapshots', 'not-a-snapshot'));
    await snaps.create('vm-1', 'snap-1', { memory: false });
    assert.equal(readAt0(path.join(dir, 'snapshots', 'snap-1', 'disk.qcow2'), 3), 'two');
    assert.deepEqual(readdirSync(path.join(dir, 'snapshots')).sort(), ['not-a-snapshot', 'snap-1']);
    assert.deepEqual(await snaps.list(), ['snap-1']);
    await snaps.create('vm-1', 'snap-2', { memory: false });
    assert.deepEqual((await snaps.list()).sort(), ['snap-1', 'snap-2']);
  });

  test('snapshot ids that could escape the directory are refused', async () => {
    await assert.rejects(snaps.create('vm-1', '../x', { memory: false }), /invalid snapshot id/);
    await assert.rejects(snaps.remove('snap-1/../../vms'), /invalid snapshot id/);
    await assert.rejects(snaps.create('../vm-1', 'snap-3', { memory: false }), /invalid instance id/);
  });

  test('restore of a disk snapshot: forced stop, the snapshot content at the instance size, stays stopped', async () => {
    host.state = 'running';
    host.stops = [];
    writeFileSync(host.paths('vm-1').spec, JSON.stringify(spec({ diskGb: 2 })));
    writeAt0(host.paths('vm-1').disk, 'xxx');
    assert.deepEqual(await snaps.restore('vm-1', 'snap-2'), { running: false });
    assert.deepEqual(host.stops, [{ id: 'vm-1', force: true }]);
    const disk = host.paths('vm-1').disk;
    assert.equal(readAt0(disk, 3), 'two');
    assert.equal((await imageInfo(disk)).virtualBytes, 2 * GiB, 'grown to the instance size');
    assert.equal((await imageInfo(disk)).backing, undefined);
    assert.ok(!existsSync(`${disk}.restore`));
  });

  test('restore refuses a snapshot without files, and a RAM state that is damaged or does not fit, before stopping anything', async () => {
    host.stops = [];
    await assert.rejects(snaps.restore('vm-1', 'snap-9'), /snapshot snap-9 has no files on this host/);
    await assert.rejects(snaps.restore('vm-5', 'snap-2'), /instance vm-5 does not exist/);
    const metaFile = path.join(dir, 'snapshots', 'snap-2', 'meta.json');
    const meta = JSON.parse(readFileSync(metaFile, 'utf8'));
    const version = /version (\d+\.\d+\.\d+)/.exec(execFileSync('qemu-system-x86_64', ['--version'], { encoding: 'utf8' }))![1];
    writeFileSync(path.join(dir, 'snapshots', 'snap-2', 'memory.state'), 'RAM');
    const memory = { file: 'memory.state', bytes: 3, sha256: '0'.repeat(64), memory_mb: 256, vcpus: 1, qemu_version: version, args_version: QEMU_ARGS_VERSION };
    writeFileSync(metaFile, JSON.stringify({ ...meta, memory }));
    await assert.rejects(snaps.restore('vm-1', 'snap-2'), /RAM state of snap-2 is damaged/);
    writeFileSync(metaFile, JSON.stringify({ ...meta, memory: { ...memory, memory_mb: 512 } }));
    await assert.rejects(snaps.restore('vm-1', 'snap-2'), /saved with 512 MB and 1 vCPU\(s\), the instance now has 256 MB/);
    writeFileSync(metaFile, JSON.stringify({ ...meta, memory: { ...memory, qemu_version: '1.0.0' } }));
    await assert.rejects(snaps.restore('vm-1', 'snap-2'), /saved by QEMU 1\.0\.0, this host runs QEMU/);
    assert.deepEqual(host.stops, []);
    writeFileSync(metaFile, JSON.stringify(meta));
  });

  test('memoryMismatch: same shape and devices fit; anything else says why', () => {
    const m = { file: 'memory.state' as const, bytes: 1, sha256: '', memory_mb: 256, vcpus: 1, qemu_version: '7.2.0', args_version: QEMU_ARGS_VERSION };
    assert.equal(memoryMismatch(m, { memoryMb: 256, vcpus: 1 }), undefined);
    assert.match(memoryMismatch(m, { memoryMb: 256, vcpus: 2 })!, /1 vCPU\(s\), the instance now has 256 MB and 2 vCPU/);
    assert.match(memoryMismatch({ ...m, args_version: QEMU_ARGS_VERSION - 1 }, { memoryMb: 256, vcpus: 1 })!, /device set changed/);
  });

  test('a new instance disk from a snapshot: standalone copy grown to its size; an unknown snapshot is a clear error', async () => {
    const target = path.join(dir, 'copy.qcow2');
    await snaps.copyDiskTo('snap-1', target, 3);
    assert.equal(readAt0(target, 3), 'two');
    assert.equal((await imageInfo(target)).virtualBytes, 3 * GiB);
    await assert.rejects(snaps.copyDiskTo('snap-77', target, 3), /snapshot snap-77 has no disk file/);
  });

  test('delete removes the files and is safe to repeat', async () => {
    await snaps.remove('snap-1');
    await snaps.remove('snap-1');
    assert.deepEqual(await snaps.list(), ['snap-2']);
  });

  test('resize: refused while running, for a missing instance, for a smaller disk or bad numbers; else grows disk and spec', async () => {
    host.state = 'running';
    await assert.rejects(maint.resize('vm-1', { memoryMb: 512, vcpus: 2, diskGb: 2 }), /resize needs the instance stopped: vm-1 is running/);
    host.state = 'missing';
    await assert.rejects(maint.resize('vm-1', { memoryMb: 512, vcpus: 2, diskGb: 2 }), /instance vm-1 does not exist/);
    host.state = 'stopped';
    await assert.rejects(maint.resize('vm-1', { memoryMb: 512, vcpus: 2, diskGb: 1 }), /disks only grow: vm-1 has 2 GB, 1 GB asked/);
    await assert.rejects(maint.resize('vm-1', { memoryMb: 0, vcpus: 2, diskGb: 2 }), /memoryMb must be a positive integer/);
    await maint.resize('vm-1', { memoryMb: 512, vcpus: 2, diskGb: 4 });
    const saved = JSON.parse(readFileSync(host.paths('vm-1').spec, 'utf8')) as InstanceSpec;
    assert.deepEqual([saved.memoryMb, saved.vcpus, saved.diskGb, saved.sshPort], [512, 2, 4, 2222]);
    assert.equal((await imageInfo(host.paths('vm-1').disk)).virtualBytes, 4 * GiB);
    assert.equal(readAt0(host.paths('vm-1').disk, 3), 'two', 'growing keeps the content');
  });

  test('rebuild: refused while running; a fresh blank disk; the old disk is put back when writing the new files fails', async () => {
    const p = host.paths('vm-1');
    host.state = 'running';
    await assert.rejects(maint.rebuild(spec({ diskGb: 4 })), /rebuild needs the instance stopped/);
    host.state = 'stopped';
    host.failCreate = true;
    await assert.rejects(maint.rebuild(spec({ diskGb: 4 })), /seed writer broke/);
    assert.equal(readAt0(p.disk, 3), 'two', 'the old disk is back');
    host.failCreate = false;
    await maint.rebuild(spec({ diskGb: 4, fromSnapshot: 'snap-2' }));
    assert.equal(readAt0(p.disk, 3), '\0\0\0', 'a blank disk, not the snapshot the spec named');
    assert.equal((await imageInfo(p.disk)).virtualBytes, 4 * GiB);
    assert.ok(!existsSync(`${p.disk}.rebuild-old`));
  });
});
