import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApiClient, ApiError, type Vm } from '@twarga/contract';
import { TINY_DIR } from '../../apps/server/src/test-support/driver-contract.js';
import { sshExec, waitForSshBanner } from '../../apps/server/src/test-support/ssh.js';
import { libvirtUnavailable, virsh, virshQuietly } from '../support/libvirt.js';
import { startServer } from '../support/server.js';
import { TerminalClient } from '../support/terminal.js';
import { until } from '../support/until.js';

const skip = libvirtUnavailable();

/**
 * The libvirt driver through the API, against the private libvirtd of the test namespace: two
 * compute hosts (the local socket, and the same libvirtd as a remote host over TCP, which is how
 * a qemu+ssh:// host is driven: volumes uploaded, no local files or PTY), the scheduler placing
 * VMs on both, a draining host receiving none, a VM's whole life, its serial console in the
 * terminal, nothing left behind. Each host has a storage pool of its own, made for this run
 * (the local one the server's TWARGA_LIBVIRT_POOL, the remote one the host's `pool`): nothing
 * the remote VM uses (kernel, initrd, disk, seed) can come from an upload through the local
 * socket, so all of it went over qemu+tcp.
 */
describe('libvirt compute hosts through the API', { skip }, () => {
  const run = randomBytes(3).toString('hex');
  const prefix = `twarga-it-${run}-`;
  const pool = `twarga-it-${run}`;
  const remotePool = `twarga-it-${run}-r`;
  /** Volume names of the tiny kernel and initrd in a pool (content hash + file name). */
  const sharedVolumes = ['initrd.img', 'vmlinuz'].map((f) => `shared-${createHash('sha256').update(readFileSync(path.join(TINY_DIR, f))).digest('hex').slice(0, 16)}-${f}`);
  const volumes = (p = pool) => virsh('vol-list', p).split('\n').map((l) => l.trim().split(/\s+/)[0]!).filter(Boolean);
  /** Every file a domain's definition names: disks, seed, kernel, initrd. */
  const domainFiles = (vm: Vm) => [...virsh('dumpxml', `${prefix}vm-${vm.id}`).matchAll(/<(?:source file=['"]|kernel>|initrd>)([^'"<]+)/g)].map((m) => m[1]!);
  let dataDir: string;
  let keyDir: string;
  let server: Awaited<ReturnType<typeof startServer>>;
  let api: ApiClient;
  let admin: ApiClient;
  let privateKey: string;
  let keyId: number;
  const ours = () => virsh('list', '--all', '--name').split('\n').filter((n) => n.startsWith(prefix));

  const waitRunning = (id: number) =>
    until(`VM ${id} running with an address`, async () => {
      const vm = await api.vms.get(id);
      if (vm.status === 'error') throw new Error(`VM error: ${vm.error}`);
      return vm.status === 'running' && !vm.locked && vm.ssh_host !== '127.0.0.1' ? vm : undefined;
    }, 180_000);
  const ssh = async (vm: Vm, command: string) => {
    await waitForSshBanner(vm.ssh_port!, 180_000, vm.ssh_host);
    return sshExec({ host: vm.ssh_host, port: vm.ssh_port!, privateKey, command });
  };

  before(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-lvh-'));
    keyDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-lvhkey-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(keyDir, 'id')]);
    privateKey = readFileSync(path.join(keyDir, 'id'), 'utf8');
    server = await startServer({
      TWARGA_DATA_DIR: dataDir, TWARGA_ADMIN_PASSWORD: 'libvirt-admin-pw', TWARGA_RECONCILE_SECONDS: '1',
      TWARGA_DEFAULT_DRIVER: 'libvirt', TWARGA_LIBVIRT_URI: 'qemu:///system', TWARGA_LIBVIRT_PREFIX: prefix, TWARGA_LIBVIRT_POOL: pool,
    });
    const anon = new ApiClient({ baseUrl: server.base });
    await anon.auth.register({ username: 'lvuser', email: 'lvuser@example.com', password: 'correct horse battery' });
    api = new ApiClient({ baseUrl: server.base, token: (await anon.auth.login('lvuser', 'correct horse battery')).access_token });
    admin = new ApiClient({ baseUrl: server.base, token: (await anon.auth.login('admin', 'libvirt-admin-pw')).access_token });
    keyId = (await api.account.keys.create({ name: 'k', public_key: readFileSync(path.join(keyDir, 'id.pub'), 'utf8') })).id;
  });
  after(async () => {
    await server?.stop();
    // Whatever a failed test left behind, in any state.
    for (const name of ours()) {
      virshQuietly('destroy', name);
      virshQuietly('undefine', name, '--remove-all-storage');
    }
    for (const p of [pool, remotePool]) {
      try {
        for (const vol of volumes(p)) virshQuietly('vol-delete', '--pool', p, vol);
      } catch {
        /* no pool */
      }
      virshQuietly('pool-destroy', p);
      virshQuietly('pool-delete', p);
      virshQuietly('pool-undefine', p);
    }
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(keyDir, { recursive: true, force: true });
  });

  let first: Vm;
  let second: Vm;

  test('two hosts: VMs are spread over both and reachable at their own addresses; the remote one gets its files uploaded', async () => {
    const [local] = await admin.admin.hosts.list();
    assert.deepEqual([local!.driver, local!.pool, local!.pool_is_default], ['libvirt', pool, true]);
    await admin.admin.hosts.update(local!.id, { ram_mb: 2048, vcpus: 8 });
    const b = await admin.admin.hosts.create({ name: 'lv-remote', driver: 'libvirt', uri: 'qemu+tcp://127.0.0.1/system', pool: remotePool, ram_mb: 2048, vcpus: 8 });
    assert.deepEqual([b.pool, b.pool_is_default], [remotePool, false]);
    const a1 = await api.vms.create({ name: 'lv-one', image: 'tiny', size: 's-1vcpu-256mb', ssh_keys: [keyId] });
    const a2 = await api.vms.create({ name: 'lv-two', image: 'tiny', size: 's-1vcpu-256mb', ssh_keys: [keyId] });
    // Equal room: the tie goes to the older host, then the other has more.
    assert.deepEqual([a1.host_id, a2.host_id], [local!.id, b.id]);
    [first, second] = [await waitRunning(a1.id), await waitRunning(a2.id)];
    // Each host's volumes are in its own pool: the remote VM's kernel, initrd, disk and seed were
    // all uploaded over qemu+tcp into a pool the local socket never wrote to.
    const instanceVolumes = (vm: Vm) => [`${prefix}vm-${vm.id}-disk.qcow2`, `${prefix}vm-${vm.id}-seed.iso`];
    assert.deepEqual(volumes(pool).sort(), [...sharedVolumes, ...instanceVolumes(first)].sort(), 'the local host\'s pool');
    assert.deepEqual(volumes(remotePool).sort(), [...sharedVolumes, ...instanceVolumes(second)].sort(), 'the remote host\'s pool');
    for (const [vm, dir] of [[first, pool], [second, remotePool]] as const) {
      const files = domainFiles(vm);
      assert.equal(files.length, 4, `disk, seed, kernel, initrd of ${vm.name}: ${files.join(' ')}`);
      for (const f of files) assert.equal(path.dirname(f), `/var/lib/libvirt/images/${dir}`, `${vm.name} uses ${f}`);
    }
    for (const vm of [first, second]) {
      assert.equal(vm.driver, 'libvirt');
      assert.match(vm.ssh_host, /^192\.168\.122\.\d+$/);
      assert.equal(vm.ssh_command, `ssh -p 22 root@${vm.ssh_host}`);
      assert.match(await ssh(vm, 'hostname'), new RegExp(vm.name));
    }
    assert.equal(ours().length, 2);

    await admin.admin.hosts.update(b.id, { draining: true });
    const a3 = await api.vms.create({ name: 'lv-three', image: 'tiny', size: 's-1vcpu-256mb', ssh_keys: [keyId] });
    assert.equal(a3.host_id, local!.id, 'a draining host receives no new VM');
    await waitRunning(a3.id);
    await api.vms.action(a3.id, { action: 'destroy', force: true });
  });

  test('the serial console works through the terminal, as with QEMU; a remote host has none (409)', async () => {
    const { ticket } = await api.terminal.start(first.id, { kind: 'serial' });
    const t = await TerminalClient.connect(server.base, ticket, { origin: server.base });
    await t.ready();
    const from = t.output.length;
    t.type(`echo lv-${first.id}-ok\r`);
    await t.until('the echo', () => t.since(from).includes(`\r\nlv-${first.id}-ok\r\n`));
    t.close();
    await assert.rejects(api.terminal.start(second.id, { kind: 'serial' }), (e: ApiError) => e.status === 409 && e.code === 'console_unavailable');
    const { ticket: sshTicket } = await api.terminal.start(second.id, { kind: 'ssh' });
    const remote = await TerminalClient.connect(server.base, sshTicket, { origin: server.base });
    await remote.ready();
    const at = remote.output.length;
    remote.type('echo remote-$((6*7))\r');
    await remote.until('the SSH echo on the remote host', () => remote.since(at).includes('remote-42'));
    remote.close();
  });

  test('stop, cold-migrate to the other host, start, destroy: /data moves with it, nothing left in libvirt', async () => {
    await ssh(first, 'echo kept > /data/proof; sync');
    await api.vms.action(first.id, { action: 'stop' });
    await until('stopped', async () => {
      const vm = await api.vms.get(first.id);
      return vm.status === 'stopped' && !vm.locked ? true : undefined;
    }, 120_000);
    assert.match(virsh('domstate', `${prefix}vm-${first.id}`), /shut off/);
    // The admin moves it to the remote host (no longer draining): the VM's migrate action, which its owner sees too.
    const remote = (await admin.admin.hosts.list()).find((h) => h.name === 'lv-remote')!;
    await admin.admin.hosts.update(remote.id, { draining: false });
    const move = await admin.admin.hosts.migrateVm(first.id, { host: remote.id });
    assert.deepEqual([move.type, move.status], ['migrate', 'in-progress']);
    const moved = await until('the migrate action ends', async () => {
      const a = await api.actions.get(move.id);
      return a.status === 'in-progress' ? undefined : a;
    }, 180_000);
    assert.equal(moved.status, 'completed', moved.error ?? '');
    assert.equal((await api.vms.get(first.id)).host_id, remote.id);
    const own = (p: string) => volumes(p).filter((v) => v.startsWith(`${prefix}vm-${first.id}-`)).sort();
    assert.deepEqual(own(pool), [], 'its volumes left the local pool');
    assert.deepEqual(own(remotePool), [`${prefix}vm-${first.id}-disk.qcow2`, `${prefix}vm-${first.id}-seed.iso`], 'and are in the remote one');
    await api.vms.action(first.id, { action: 'start' });
    first = await waitRunning(first.id);
    assert.equal((await ssh(first, 'cat /data/proof')).trim(), 'kept');
    for (const vm of [first, second]) await api.vms.action(vm.id, { action: 'destroy' });
    await until('all destroyed', async () => ((await api.vms.list()).length === 0 ? true : undefined), 120_000);
    await until('no domains of ours', async () => (ours().length === 0 ? true : undefined), 30_000);
    for (const p of [pool, remotePool]) {
      assert.deepEqual(volumes(p).filter((v) => !v.startsWith('shared-')), [], `no volume of an instance is left in ${p}`);
      assert.deepEqual(volumes(p).sort(), [...sharedVolumes].sort(), `the shared kernel and initrd stay in ${p}`);
    }
  });
});
