import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from 'ssh2';
import { ApiClient, type Action, type Vm } from '@twarga/contract';
import { sshExec, waitForSshBanner } from '../../apps/server/src/test-support/ssh.js';
import { killQemusUnder } from '../support/qemu.js';
import { startServer } from '../support/server.js';
import { until } from '../support/until.js';

/** The SSH host key a guest presents (sha256 of its public key blob), read in the handshake. */
function hostKeyOf(port: number, privateKey: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const conn = new Client();
    conn
      .on('ready', () => {
        conn.end();
        resolve(seen);
      })
      .on('error', reject)
      .connect({
        host: '127.0.0.1', port, username: 'root', privateKey, readyTimeout: 20_000,
        hostVerifier: (key: Buffer) => {
          seen = createHash('sha256').update(key).digest('base64');
          return true;
        },
      });
  });
}

/**
 * Snapshots, restore, a VM made from a snapshot, resize and rebuild: real QEMU (software
 * emulation, the tiny image) behind the real server process, driven through the API.
 */
describe('VM snapshots, restore, resize and rebuild through the API with real QEMU', () => {
  let dataDir: string;
  let keyDir: string;
  let server: Awaited<ReturnType<typeof startServer>>;
  let api: ApiClient;
  let privateKey: string;
  let keyId: number;

  const waitStatus = (id: number, status: Vm['status']) =>
    until(`VM ${id} ${status}`, async () => {
      const vm = await api.vms.get(id);
      if (vm.status === 'error') throw new Error(`VM went to error: ${vm.error}`);
      return vm.status === status && !vm.locked ? vm : undefined;
    });
  const finished = (action: Action) =>
    until(`action ${action.id} (${action.type})`, async () => {
      const a = await api.actions.get(action.id);
      if (a.status === 'errored') throw new Error(`${a.type} failed: ${a.error}; log: ${(await api.actions.log(a.id)).lines.map((l) => l.line).join(' | ')}`);
      return a.status === 'completed' ? a : undefined;
    }, 180_000);
  const ssh = (vm: Vm, command: string) => sshExec({ port: vm.ssh_port!, privateKey, command, timeoutMs: 60_000 });
  const boot = async (id: number) => {
    await finished(await api.vms.action(id, { action: 'start' }));
    const vm = await waitStatus(id, 'running');
    await waitForSshBanner(vm.ssh_port!);
    return vm;
  };
  const stop = async (id: number) => {
    await finished(await api.vms.action(id, { action: 'stop' }));
    return waitStatus(id, 'stopped');
  };

  before(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-snap-'));
    keyDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-snapkey-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'snapshots', '-f', path.join(keyDir, 'id')]);
    privateKey = readFileSync(path.join(keyDir, 'id'), 'utf8');
    server = await startServer({ TWARGA_DATA_DIR: dataDir, TWARGA_ADMIN_PASSWORD: 'snapshots-admin-pw', TWARGA_ACCEL: 'tcg', TWARGA_RECONCILE_SECONDS: '2', TWARGA_SSH_PORTS: '24200-24249',
      // A tiny image build under test (e.g. a new build before it is installed in images/tiny/dist).
      ...(process.env.TWARGA_TINY_IMAGE_DIR ? { TWARGA_TINY_IMAGE_DIR: process.env.TWARGA_TINY_IMAGE_DIR } : {}),
    });
    const anon = new ApiClient({ baseUrl: server.base });
    await anon.auth.register({ username: 'snapuser', email: 'snapuser@example.com', password: 'correct horse battery' });
    const { access_token } = await anon.auth.login('snapuser', 'correct horse battery');
    api = new ApiClient({ baseUrl: server.base, token: access_token });
    keyId = (await api.account.keys.create({ name: 'laptop', public_key: readFileSync(path.join(keyDir, 'id.pub'), 'utf8') })).id;
  });
  after(async () => {
    await server?.stop();
    killQemusUnder(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(keyDir, { recursive: true, force: true });
  });

  let vm: Vm;
  let snapshotId: number;

  test('snapshot, a file written after it, restore: the later file is gone, the earlier one is there', async () => {
    const created = await api.vms.create({ name: 'snap-src', image: 'tiny', size: 's-1vcpu-256mb', ssh_keys: [keyId] });
    vm = await waitStatus(created.id, 'running');
    await waitForSshBanner(vm.ssh_port!);
    await ssh(vm, 'echo before > /data/before; sync');
    await finished(await api.vms.snapshot(vm.id, { name: 'first' }));
    const list = await api.vms.snapshots(vm.id);
    const snap = list.snapshots.find((s) => s.name === 'first')!;
    assert.equal(snap.status, 'available');
    assert.ok(snap.size_bytes > 0);
    snapshotId = snap.id;
    assert.equal((await api.vms.get(vm.id)).status, 'running', 'a snapshot keeps the VM running');
    await ssh(vm, 'echo after > /data/after; sync');

    const restore = await api.vms.action(vm.id, { action: 'restore', snapshot_id: snapshotId });
    await finished(restore);
    assert.equal((await waitStatus(vm.id, 'stopped')).status, 'stopped', 'a disk restore leaves the VM stopped');
    vm = await boot(vm.id);
    assert.equal((await ssh(vm, 'cat /data/before')).trim(), 'before');
    assert.equal((await ssh(vm, 'ls /data/after 2>/dev/null || echo gone')).trim(), 'gone');
  });

  test('a VM made from the snapshot has its data, its own hostname and its own host key', async () => {
    const sourceKey = await hostKeyOf(vm.ssh_port!, privateKey);
    const created = await api.vms.create({ name: 'snap-clone', snapshot_id: snapshotId, ssh_keys: [keyId] });
    assert.equal(created.image, 'tiny');
    const clone = await waitStatus(created.id, 'running');
    await waitForSshBanner(clone.ssh_port!);
    assert.notEqual(clone.ssh_port, vm.ssh_port);
    assert.equal((await ssh(clone, 'cat /data/before')).trim(), 'before', "the snapshot's data");
    assert.equal((await ssh(clone, 'hostname')).trim(), 'snap-clone');
    assert.notEqual(await hostKeyOf(clone.ssh_port!, privateKey), sourceKey, 'new SSH host keys');
    await finished(await api.vms.action(clone.id, { action: 'destroy', force: true }));
  });

  test('resize 256 MB / 1 GB to 512 MB / 2 GB: the guest sees the new RAM and a larger /data', async () => {
    await stop(vm.id);
    const resize = await api.vms.action(vm.id, { action: 'resize', ram: 512, disk: 2 });
    await finished(resize);
    const log = (await api.actions.log(resize.id)).lines.map((l) => l.line);
    assert.ok(log.some((l) => /priced at 2 credits\/hour from the next hour/.test(l)), log.join(' | '));
    const resized = await api.vms.get(vm.id);
    assert.deepEqual([resized.ram, resized.disk, resized.price_hourly], [512, 2, 2]);
    vm = await boot(vm.id);
    const memKb = Number(/MemTotal:\s+(\d+)/.exec(await ssh(vm, 'cat /proc/meminfo'))![1]);
    assert.ok(memKb > 400 * 1024, `MemTotal ${memKb} kB`);
    const dataKb = Number((await ssh(vm, "df -k /data | tail -1 | awk '{print $2}'")).trim());
    assert.ok(dataKb > 1.5 * 1024 * 1024, `/data is ${dataKb} kB`);
    assert.equal((await ssh(vm, 'cat /data/before')).trim(), 'before', 'the data survived the resize');
  });

  test('rebuild: the same id and SSH port, a fresh disk', async () => {
    const port = vm.ssh_port;
    await stop(vm.id);
    const rebuild = await api.vms.action(vm.id, { action: 'rebuild', confirm: 'snap-src' });
    await finished(rebuild);
    assert.equal((await api.vms.get(vm.id)).status, 'stopped');
    vm = await boot(vm.id);
    assert.equal(vm.ssh_port, port);
    assert.equal((await ssh(vm, 'ls /data/before 2>/dev/null || echo gone')).trim(), 'gone', 'a fresh disk');
    assert.equal((await ssh(vm, 'hostname')).trim(), 'snap-src');
    await finished(await api.vms.action(vm.id, { action: 'destroy', force: true }));
    const kept = await api.snapshots.get(snapshotId);
    assert.deepEqual([kept.vm_id, kept.status], [null, 'available'], 'the snapshot outlives its VM');
  });
});
