import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApiClient, type Vm } from '@twarga/contract';
import { sshExec, waitForSshBanner } from '../../apps/server/src/test-support/ssh.js';
import { libvirtUnavailable, virsh, virshQuietly } from '../support/libvirt.js';
import { startServer } from '../support/server.js';
import { until } from '../support/until.js';

const skip = libvirtUnavailable();

/**
 * Snapshot, restore, resize and rebuild of a VM on a libvirt host, through the API, against the
 * private libvirtd of the test namespace (tiny image, software emulation). The snapshot is a
 * volume of the host's pool (<prefix>snap-<id>-disk.qcow2), not a file of the server.
 */
describe('libvirt: snapshot, restore, resize, rebuild through the API', { skip }, () => {
  const run = randomBytes(3).toString('hex');
  const prefix = `twarga-its-${run}-`;
  const pool = `twarga-its-${run}`;
  const volumes = () => virsh('vol-list', pool).split('\n').map((l) => l.trim().split(/\s+/)[0]!).filter(Boolean);
  let dataDir: string;
  let keyDir: string;
  let server: Awaited<ReturnType<typeof startServer>>;
  let api: ApiClient;
  let privateKey: string;
  let keyId: number;
  let vm: Vm;
  const domain = () => `${prefix}vm-${vm.id}`;

  /** The VM settled in `status` (no action running), or fail on error. */
  const settled = (status: string) =>
    until(`VM ${vm.id} ${status}`, async () => {
      const v = await api.vms.get(vm.id);
      if (v.status === 'error') throw new Error(`VM error: ${v.error}`);
      return v.status === status && !v.locked && (status !== 'running' || v.ssh_host !== '127.0.0.1') ? v : undefined;
    }, 180_000);
  const ssh = async (command: string) => {
    await waitForSshBanner(vm.ssh_port!, 180_000, vm.ssh_host);
    return sshExec({ host: vm.ssh_host, port: vm.ssh_port!, privateKey, command, timeoutMs: 60_000 });
  };

  before(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-lvs-'));
    keyDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-lvskey-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(keyDir, 'id')]);
    privateKey = readFileSync(path.join(keyDir, 'id'), 'utf8');
    server = await startServer({
      TWARGA_DATA_DIR: dataDir, TWARGA_ADMIN_PASSWORD: 'libvirt-admin-pw', TWARGA_RECONCILE_SECONDS: '1',
      TWARGA_DEFAULT_DRIVER: 'libvirt', TWARGA_LIBVIRT_URI: 'qemu:///system', TWARGA_LIBVIRT_PREFIX: prefix, TWARGA_LIBVIRT_POOL: pool,
    });
    const anon = new ApiClient({ baseUrl: server.base });
    await anon.auth.register({ username: 'lvsnap', email: 'lvsnap@example.com', password: 'correct horse battery' });
    api = new ApiClient({ baseUrl: server.base, token: (await anon.auth.login('lvsnap', 'correct horse battery')).access_token });
    keyId = (await api.account.keys.create({ name: 'k', public_key: readFileSync(path.join(keyDir, 'id.pub'), 'utf8') })).id;
  });
  after(async () => {
    await server?.stop();
    for (const name of virsh('list', '--all', '--name').split('\n').filter((n) => n.startsWith(prefix))) {
      virshQuietly('destroy', name);
      virshQuietly('undefine', name, '--remove-all-storage');
    }
    try {
      for (const v of volumes()) virshQuietly('vol-delete', '--pool', pool, v);
    } catch {
      /* no pool */
    }
    for (const cmd of ['pool-destroy', 'pool-delete', 'pool-undefine']) virshQuietly(cmd, pool);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(keyDir, { recursive: true, force: true });
  });

  test('snapshot a running VM (quiesced); a file written later is gone after the restore; the snapshot is a pool volume', async () => {
    vm = await api.vms.create({ name: 'lvsnap', image: 'tiny', size: 's-1vcpu-256mb', ssh_keys: [keyId] });
    vm = await settled('running');
    await ssh('echo before > /data/before; sync');
    await api.vms.action(vm.id, { action: 'snapshot', name: 'lv-s1' });
    const snap = await until('snapshot available', async () => {
      const s = (await api.vms.snapshots(vm.id)).snapshots.find((x) => x.name === 'lv-s1');
      if (s?.status === 'error') throw new Error(`snapshot error: ${s.error}`);
      return s?.status === 'available' ? s : undefined;
    }, 120_000);
    assert.deepEqual([snap.memory, snap.quiesced], [false, true], 'disk only, frozen through the guest agent');
    assert.ok(snap.size_bytes > 0);
    assert.ok(volumes().includes(`${prefix}snap-${snap.id}-disk.qcow2`), `a volume in ${pool}: ${volumes().join(' ')}`);
    vm = await settled('running');
    assert.match(virsh('domstate', domain()), /running/, 'the VM ran on');

    await ssh('echo after > /data/after; sync');
    await api.vms.action(vm.id, { action: 'restore', snapshot_id: snap.id });
    await settled('stopped');
    assert.match(virsh('domstate', domain()), /shut off/, 'a disk restore leaves the VM stopped');
    await api.vms.action(vm.id, { action: 'start' });
    vm = await settled('running');
    const files = await ssh('ls /data');
    assert.match(files, /\bbefore\b/);
    assert.doesNotMatch(files, /\bafter\b/, 'written after the snapshot: gone');
  });

  test('resize: the domain and the guest get the new RAM; rebuild: a fresh disk; the snapshot outlives the VM until deleted', async () => {
    await api.vms.action(vm.id, { action: 'stop' });
    await settled('stopped');
    await api.vms.action(vm.id, { action: 'resize', size: 's-1vcpu-512mb' });
    vm = await settled('stopped');
    assert.deepEqual([vm.ram, vm.disk], [512, 2]);
    assert.match(virsh('dominfo', domain()), /Max memory:\s+524288 KiB/);
    await api.vms.action(vm.id, { action: 'start' });
    vm = await settled('running');
    const memTotalKb = Number(/MemTotal:\s+([0-9]+)/.exec(await ssh('cat /proc/meminfo'))![1]);
    assert.ok(memTotalKb > 400 * 1024 && memTotalKb <= 512 * 1024, `the guest sees ~512 MiB: ${memTotalKb} kB`);
    assert.equal(Number((await ssh('cat /sys/block/vda/size')).trim()) * 512, 2 * 1024 ** 3, 'the disk grew to 2 GiB');
    // Growing the filesystem is the image's part (its /sbin/twarga-identity runs resize2fs at boot).
    if ((await ssh('test -x /sbin/twarga-identity && echo yes || true')).trim() === 'yes') {
      const dataKb = Number((await ssh("df -k /data | tail -1 | awk '{print $2}'")).trim());
      assert.ok(dataKb > 1.5 * 1024 * 1024, `/data grew to ~2 GiB: ${dataKb} kB`);
    }
    assert.equal((await ssh('cat /data/before')).trim(), 'before', 'the data stays');

    await api.vms.action(vm.id, { action: 'stop' });
    await settled('stopped');
    const disk = `${prefix}vm-${vm.id}-disk.qcow2`;
    const allocation = () => Number(/Allocation:\s+([0-9]+) bytes/.exec(virsh('vol-info', '--pool', pool, disk, '--bytes'))![1]);
    assert.ok(allocation() > 512 * 1024, 'the disk holds a filesystem and files');
    await api.vms.action(vm.id, { action: 'rebuild', confirm: vm.name });
    await settled('stopped');
    assert.ok(allocation() < 512 * 1024, `a fresh blank disk: ${allocation()} bytes`);
    assert.match(virsh('dominfo', domain()), /Max memory:\s+524288 KiB/, 'the rebuilt domain keeps its size');

    const [snap] = (await api.vms.snapshots(vm.id)).snapshots;
    await api.vms.action(vm.id, { action: 'destroy' });
    await until('VM gone', async () => ((await api.vms.list()).length === 0 ? true : undefined), 120_000);
    assert.ok(volumes().includes(`${prefix}snap-${snap!.id}-disk.qcow2`), 'the snapshot outlives its VM');
    await api.snapshots.remove(snap!.id);
    await until('snapshot volume deleted', async () => (volumes().some((v) => v.includes('snap-')) ? undefined : true), 60_000);
    assert.deepEqual(volumes().filter((v) => v.startsWith(prefix)), []);
  });
});
