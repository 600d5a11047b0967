import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApiClient, type AdminHealth, type Event, type Vm } from '@twarga/contract';
import { sshExec, waitForSshBanner } from '../../apps/server/src/test-support/ssh.js';
import { killQemusUnder } from '../support/qemu.js';
import { startServer } from '../support/server.js';
import { until } from '../support/until.js';

/**
 * Instant VMs as a user meets them: the real server with instant VMs on builds the tiny image's
 * warm snapshot at start; a creation of that size resumes from it (its log says so) and is a VM
 * of its own (hostname, the user's key, user-data); a size without a warm snapshot boots cold and
 * says why.
 */
describe('instant VMs through the API with real QEMU', () => {
  let dataDir: string;
  let keyDir: string;
  let server: Awaited<ReturnType<typeof startServer>>;
  let api: ApiClient;
  let adminToken: string;
  let privateKey: string;
  let keyId: number;

  before(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-instant-api-'));
    keyDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-instant-key-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'instant', '-f', path.join(keyDir, 'id')]);
    privateKey = readFileSync(path.join(keyDir, 'id'), 'utf8');
    server = await startServer({
      TWARGA_DATA_DIR: dataDir, TWARGA_ADMIN_PASSWORD: 'instant-admin-pw', TWARGA_ACCEL: 'tcg', TWARGA_SSH_PORTS: '24400-24449',
      TWARGA_INSTANT_VMS: 'on', TWARGA_WARM_SIZES: 's-1vcpu-256mb',
      ...(process.env.TWARGA_TINY_IMAGE_DIR ? { TWARGA_TINY_IMAGE_DIR: process.env.TWARGA_TINY_IMAGE_DIR } : {}),
    });
    const anon = new ApiClient({ baseUrl: server.base });
    adminToken = (await anon.auth.login('admin', 'instant-admin-pw')).access_token;
    await anon.auth.register({ username: 'instantuser', email: 'instantuser@example.com', password: 'correct horse battery' });
    api = new ApiClient({ baseUrl: server.base, token: (await anon.auth.login('instantuser', 'correct horse battery')).access_token });
    keyId = (await api.account.keys.create({ name: 'laptop', public_key: readFileSync(path.join(keyDir, 'id.pub'), 'utf8') })).id;
  });
  after(async () => {
    await server?.stop();
    killQemusUnder(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(keyDir, { recursive: true, force: true });
  });

  const adminGet = async <T>(url: string): Promise<T> => {
    const res = await fetch(`${server.base}${url}`, { headers: { authorization: `Bearer ${adminToken}` } });
    assert.equal(res.status, 200, url);
    return (await res.json()) as T;
  };
  const running = (id: number) =>
    until(`VM ${id} running`, async () => {
      const vm = await api.vms.get(id);
      if (vm.status === 'error') throw new Error(`VM went to error: ${vm.error}`);
      return vm.status === 'running' && !vm.locked ? vm : undefined;
    }, 180_000);
  const createLog = async (vm: Vm) => (await api.actions.log((await api.vms.actions(vm.id)).find((a) => a.type === 'create')!.id)).lines.map((l) => l.line);

  test('the warm snapshot built at start is reported ready on the admin health page', async () => {
    const component = await until('warm snapshot ready', async () => {
      const c = (await adminGet<AdminHealth>('/api/admin/health')).components.find((x) => x.name === 'instant_vms');
      return c?.status === 'healthy' ? c : undefined;
    }, 240_000);
    assert.match(component.detail, /1 warm snapshot\(s\) ready/);
    const built = await adminGet<Event[]>('/api/soc/events?code=warm_snapshot.built&limit=5');
    assert.equal(built.length, 1);
  });

  test('a creation of a warm size resumes instantly and is a VM of its own: hostname, key, user-data', async () => {
    const created = await api.vms.create({ name: 'quick-1', image: 'tiny', size: 's-1vcpu-256mb', ssh_keys: [keyId], user_data: '#!/bin/sh\necho ran-$(hostname) > /root/user-data-ran\n' });
    const vm = await running(created.id);
    const log = await createLog(vm);
    assert.ok(log.some((l) => /^Instant start from a warm snapshot \(\d+ ms\)$/.test(l)), log.join(' | '));
    // "running" comes when the identity is applied; its SSH server answers a few hundred ms later.
    await waitForSshBanner(vm.ssh_port!);
    const out = await until('user-data ran', async () => {
      const r = await sshExec({ port: vm.ssh_port!, privateKey, command: 'hostname; cat /root/user-data-ran 2>/dev/null; true', timeoutMs: 30_000 });
      return r.includes('ran-') ? r : undefined;
    }, 60_000);
    assert.deepEqual(out.trim().split('\n'), ['quick-1', 'ran-quick-1']);
  });

  test('a size without a warm snapshot boots cold, and its log and an event say why', async () => {
    const created = await api.vms.create({ name: 'cold-1', image: 'tiny', size: 's-1vcpu-512mb', ssh_keys: [keyId] });
    const vm = await running(created.id);
    const log = await createLog(vm);
    assert.ok(log.some((l) => /^Cold boot: no warm snapshot for this image and shape yet/.test(l)), log.join(' | '));
    const fallback = await api.request<Event[]>('GET', `/api/soc/events?code=vm.instant_fallback&vm_id=${vm.id}`);
    assert.equal(fallback.length, 1);
    // A cold boot: 'running' comes before the guest's SSH server (seconds, more on a loaded machine).
    await waitForSshBanner(vm.ssh_port!);
    const r = await sshExec({ port: vm.ssh_port!, privateKey, command: 'hostname', timeoutMs: 60_000, readyTimeoutMs: 60_000 });
    assert.equal(r.trim(), 'cold-1');
  });
});
