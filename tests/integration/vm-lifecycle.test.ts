import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApiClient, type Vm } from '@twarga/contract';
import { sshExec, waitForSshBanner } from '../../apps/server/src/test-support/ssh.js';
import { killQemusUnder } from '../support/qemu.js';
import { startServer } from '../support/server.js';
import { until } from '../support/until.js';

const ADMIN_PASSWORD = 'lifecycle-admin-pw';

function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

function qemuPidOf(dataDir: string, vmId: number): number {
  return Number(readFileSync(path.join(dataDir, 'vms', `vm-${vmId}`, 'qemu.pid'), 'utf8').trim());
}

/** Real QEMU (software emulation) behind the real server process, driven through the API. */
describe('VM lifecycle through the API with real QEMU', () => {
  let dataDir: string;
  let keyDir: string;
  let server: Awaited<ReturnType<typeof startServer>>;
  let api: ApiClient;
  let privateKey: string;
  const env = () => ({ TWARGA_DATA_DIR: dataDir, TWARGA_ADMIN_PASSWORD: ADMIN_PASSWORD, TWARGA_ACCEL: 'tcg', TWARGA_RECONCILE_SECONDS: '1', TWARGA_SSH_PORTS: '23100-23199' });

  const waitStatus = (id: number, status: Vm['status']) =>
    until(`VM ${id} ${status}`, async () => {
      const vm = await api.vms.get(id);
      if (vm.status === 'error') throw new Error(`VM went to error: ${vm.error}`);
      return vm.status === status && !vm.locked ? vm : undefined;
    });

  before(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-vm-'));
    keyDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-vmkey-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'lifecycle', '-f', path.join(keyDir, 'id')]);
    privateKey = readFileSync(path.join(keyDir, 'id'), 'utf8');
    server = await startServer(env());
    const anon = new ApiClient({ baseUrl: server.base });
    await anon.auth.register({ username: 'vmuser', email: 'vmuser@example.com', password: 'correct horse battery' });
    const { access_token } = await anon.auth.login('vmuser', 'correct horse battery');
    api = new ApiClient({ baseUrl: server.base, token: access_token });
    await api.account.keys.create({ name: 'laptop', public_key: readFileSync(path.join(keyDir, 'id.pub'), 'utf8') });
  });
  after(async () => {
    await server?.stop();
    killQemusUnder(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(keyDir, { recursive: true, force: true });
  });

  let vm: Vm;

  test('create → running, reachable over SSH with the user key', async () => {
    const keys = await api.account.keys.list();
    const created = await api.vms.create({ name: 'web-1', image: 'tiny', size: 's-1vcpu-256mb', ssh_keys: [keys[0]!.id] });
    assert.equal(created.status, 'pending');
    assert.equal(created.action.type, 'create');
    assert.equal(created.action.status, 'in-progress');
    assert.match(created.ssh_command!, /^ssh -p 231\d\d root@127\.0\.0\.1$/);
    vm = await waitStatus(created.id, 'running');
    assert.equal((await api.actions.get(created.action.id)).status, 'completed');
    await waitForSshBanner(vm.ssh_port!);
    const out = await sshExec({ port: vm.ssh_port!, privateKey, command: 'uname -a; hostname' });
    assert.match(out, /^Linux web-1 /m);
    const usage = await api.vms.stats(vm.id);
    assert.ok(usage.cpu_seconds > 0 && usage.memory_rss_bytes > 16 * 1024 * 1024 && usage.disk_read_bytes > 0, JSON.stringify(usage));
    assert.equal(usage.network_rx_bytes, null, 'QEMU user networking counts no bytes');
    assert.equal((await api.auth.me()).credits, 1000 - vm.price_hourly, 'first hour charged');
    assert.ok(existsSync(path.join(dataDir, 'vms', `vm-${vm.id}`, '.vm_info')));
  });

  test('a file under /data survives stop and start', async () => {
    await sshExec({ port: vm.ssh_port!, privateKey, command: 'echo persisted > /data/note; sync' });
    const stop = await api.vms.action(vm.id, { action: 'stop' });
    assert.equal(stop.type, 'stop');
    await waitStatus(vm.id, 'stopped');
    await api.vms.action(vm.id, { action: 'start' });
    vm = await waitStatus(vm.id, 'running');
    await waitForSshBanner(vm.ssh_port!);
    assert.equal((await sshExec({ port: vm.ssh_port!, privateKey, command: 'cat /data/note' })).trim(), 'persisted');
  });

  test('a second action while one runs is a 409', async () => {
    await api.vms.action(vm.id, { action: 'reboot' });
    // Destroy is allowed from rebooting: only the per-VM lock can refuse it here.
    await assert.rejects(api.vms.action(vm.id, { action: 'destroy' }), (e: { status: number; body?: { code?: string; message?: string } }) => {
      assert.equal(e.status, 409);
      assert.equal(e.body?.code, 'conflict');
      assert.match(e.body?.message ?? '', /another action is in progress/i);
      return true;
    });
    vm = await waitStatus(vm.id, 'running');
    await waitForSshBanner(vm.ssh_port!);
    assert.match(await sshExec({ port: vm.ssh_port!, privateKey, command: 'cat /data/note' }), /persisted/);
  });

  test('a server restart re-adopts the running VM, which stays reachable', async () => {
    const pid = qemuPidOf(dataDir, vm.id);
    await server.stop();
    assert.ok(alive(pid), 'QEMU outlives the control plane');
    server = await startServer(env());
    api = new ApiClient({ baseUrl: server.base, token: (await new ApiClient({ baseUrl: server.base }).auth.login('vmuser', 'correct horse battery')).access_token });
    const again = await api.vms.get(vm.id);
    assert.equal(again.status, 'running');
    assert.equal(qemuPidOf(dataDir, vm.id), pid, 'the same process');
    assert.match(await sshExec({ port: vm.ssh_port!, privateKey, command: 'cat /data/note' }), /persisted/);
  });

  test('kill -9 of the QEMU process is detected within 10 s', async () => {
    const pid = qemuPidOf(dataDir, vm.id);
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    const seen = await until('the VM marked stopped', async () => ((await api.vms.get(vm.id)).status === 'stopped' ? Date.now() : undefined), 15_000);
    assert.ok(seen - killedAt < 10_000, `detected after ${seen - killedAt} ms`);
  });

  test('destroy leaves no process, port or directory', async () => {
    await api.vms.action(vm.id, { action: 'start' });
    vm = await waitStatus(vm.id, 'running');
    const pid = qemuPidOf(dataDir, vm.id);
    const port = vm.ssh_port!;
    await api.vms.action(vm.id, { action: 'destroy' });
    // A destroyed VM's row stays (audit, billing): any error here is a failure, not "destroyed".
    await until('destroyed', async () => ((await api.vms.get(vm.id)).status === 'destroyed' ? true : undefined));
    assert.equal(alive(pid), false, 'no QEMU process');
    assert.equal(existsSync(path.join(dataDir, 'vms', `vm-${vm.id}`)), false, 'no directory');
    assert.ok(!(await api.vms.list()).some((v) => v.id === vm.id), 'gone from the list');
    const reused = await api.vms.create({ name: 'web-1', image: 'tiny' });
    assert.equal(reused.ssh_port, port, 'the port and the name are free again');
    await waitStatus(reused.id, 'running');
    await api.vms.action(reused.id, { action: 'destroy', force: true });
    await until('second destroyed', async () => ((await api.vms.get(reused.id)).status === 'destroyed' ? true : undefined));
  });
});
