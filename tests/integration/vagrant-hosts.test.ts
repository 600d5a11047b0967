import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApiClient, type Vm } from '@twarga/contract';
import { sshExec, waitForSshBanner } from '../../apps/server/src/test-support/ssh.js';
import { libvirtUnavailable, virsh } from '../support/libvirt.js';
import { startServer } from '../support/server.js';
import { TerminalClient } from '../support/terminal.js';
import { until } from '../support/until.js';

function vagrantUnavailable(): string | undefined {
  const why = libvirtUnavailable();
  if (why) return why;
  let boxes = '';
  try {
    boxes = execFileSync('vagrant', ['box', 'list', '--machine-readable'], { timeout: 60_000, encoding: 'utf8', env: { ...process.env, VAGRANT_CHECKPOINT_DISABLE: '1' } });
  } catch {
    /* no vagrant */
  }
  const missing = boxes.includes(',box-name,twarga/tiny') ? undefined : 'the twarga/tiny box is not installed (scripts/setup.sh --test adds it)';
  if (missing && process.env.TWARGA_TEST_VAGRANT === '1') throw new Error(`Vagrant tests required but ${missing}`);
  return missing;
}

const skip = vagrantUnavailable();

/**
 * An admin switches the default driver to Vagrant: a user's VM is a real vagrant-libvirt machine
 * of the twarga/tiny box, reached over SSH and the browser terminal, halted, brought up, destroyed,
 * with nothing left in libvirt or on disk.
 */
describe('Vagrant through the API', { skip }, () => {
  const prefix = `twarga-vg${randomBytes(2).toString('hex')}-`;
  let dataDir: string;
  let keyDir: string;
  let server: Awaited<ReturnType<typeof startServer>>;
  let api: ApiClient;
  let privateKey: string;
  let vm: Vm;
  const ours = () => virsh('list', '--all', '--name').split('\n').filter((n) => n.startsWith(prefix));
  const waitStatus = (status: Vm['status']) =>
    until(`VM ${status}`, async () => {
      const v = await api.vms.get(vm.id);
      if (v.status === 'error') throw new Error(`VM error: ${v.error}`);
      return v.status === status && !v.locked && (status !== 'running' || v.ssh_host !== '127.0.0.1') ? v : undefined;
    }, 300_000);
  const ssh = async (command: string) => {
    await waitForSshBanner(vm.ssh_port!, 180_000, vm.ssh_host);
    return sshExec({ host: vm.ssh_host, port: vm.ssh_port!, privateKey, command });
  };

  before(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-vgh-'));
    keyDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-vghkey-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(keyDir, 'id')]);
    privateKey = readFileSync(path.join(keyDir, 'id'), 'utf8');
    server = await startServer({
      TWARGA_DATA_DIR: dataDir, TWARGA_ADMIN_PASSWORD: 'vagrant-admin-pw', TWARGA_RECONCILE_SECONDS: '2',
      TWARGA_DEFAULT_DRIVER: 'vagrant', TWARGA_LIBVIRT_PREFIX: prefix, HOME: process.env.HOME ?? '/root',
    });
    const anon = new ApiClient({ baseUrl: server.base });
    await anon.auth.register({ username: 'vguser', email: 'vguser@example.com', password: 'correct horse battery' });
    api = new ApiClient({ baseUrl: server.base, token: (await anon.auth.login('vguser', 'correct horse battery')).access_token });
  });
  after(async () => {
    await server?.stop();
    for (const name of ours()) virsh('destroy', name);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(keyDir, { recursive: true, force: true });
  });

  test('create → running: a vagrant-libvirt machine reached over SSH with the user key', async () => {
    const key = await api.account.keys.create({ name: 'k', public_key: readFileSync(path.join(keyDir, 'id.pub'), 'utf8') });
    const created = await api.vms.create({ name: 'vg-one', image: 'tiny', size: 's-1vcpu-256mb', ssh_keys: [key.id] });
    assert.equal(created.driver, 'vagrant');
    vm = created;
    vm = await waitStatus('running');
    assert.match(vm.ssh_host, /^192\.168\.126\.\d+$/, 'our management network (twarga-vagrant, isolated ports)');
    const log = await api.actions.log(created.action.id);
    assert.ok(log.lines.some((l) => /Machine booted and ready/.test(l.line)), `vagrant up's progress is in the action log: ${JSON.stringify(log.lines.slice(-5))}`);
    assert.match(await ssh('hostname; uname -a'), /vg-one\nLinux /);
    assert.deepEqual(ours(), [`${prefix}vagrant-vm-${vm.id}`]);
    assert.ok(existsSync(path.join(dataDir, 'vagrant', `vm-${vm.id}`, 'Vagrantfile')));
  });

  test('the browser terminal: SSH works, and the serial console (vagrant-libvirt PTY) starts with the boot log', async () => {
    const { ticket } = await api.terminal.start(vm.id, { kind: 'ssh' });
    const t = await TerminalClient.connect(server.base, ticket, { origin: server.base });
    await t.ready();
    const from = t.output.length;
    t.type('echo vg-$((6*7))\r');
    await t.until('the echo', () => t.since(from).includes('vg-42'));
    t.close();

    const serial = await TerminalClient.connect(server.base, (await api.terminal.start(vm.id, { kind: 'serial' })).ticket, { origin: server.base });
    await serial.ready();
    assert.match(serial.output, /Linux version/, 'the kernel boot log comes first');
    const at = serial.output.length;
    serial.type('echo serial-$((6*7))\r');
    await serial.until('the echo on ttyS0', () => serial.since(at).includes('serial-42'));
    serial.close();
  });

  test('halt → up keeps /data; destroy leaves nothing in libvirt or on disk', async () => {
    await ssh('echo kept > /data/proof; sync');
    await api.vms.action(vm.id, { action: 'stop' });
    await waitStatus('stopped');
    assert.match(virsh('domstate', `${prefix}vagrant-vm-${vm.id}`), /shut off/);
    await api.vms.action(vm.id, { action: 'start' });
    vm = await waitStatus('running');
    assert.equal((await ssh('cat /data/proof')).trim(), 'kept');
    await api.vms.action(vm.id, { action: 'destroy' });
    await waitStatus('destroyed');
    assert.deepEqual(ours(), []);
    const volumes = virsh('vol-list', 'default').split('\n').filter((l) => l.includes(prefix));
    assert.deepEqual(volumes, [], 'no volumes of this VM');
    assert.equal(existsSync(path.join(dataDir, 'vagrant', `vm-${vm.id}`)), false, 'no machine directory');
  });
});
