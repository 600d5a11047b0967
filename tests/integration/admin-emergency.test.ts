import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { killQemusUnder } from '../support/qemu.js';
import { startServer } from '../support/server.js';
import { until } from '../support/until.js';

const ADMIN_PASSWORD = 'emergency-admin-pw';
const PASSWORD = 'correct horse battery';

function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

/** An admin's emergency stop of a user, on a real tiny QEMU VM behind the real server process. */
describe('emergency stop of a user with real QEMU', () => {
  let dataDir: string;
  let server: Awaited<ReturnType<typeof startServer>>;
  let admin: string;
  let owner: { id: number; token: string };
  let vmId: number;

  const call = async (method: string, url: string, token: string, body?: unknown) => {
    const res = await fetch(`${server.base}${url}`, { method, headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const login = async (username: string, password: string) => {
    const res = await fetch(`${server.base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
    assert.equal(res.status, 200);
    return (await res.json()).access_token as string;
  };
  const vm = async () => (await call('GET', `/api/vms/${vmId}`, owner.token)).body as { status: string; locked: boolean; error: string | null };

  before(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-emergency-'));
    server = await startServer({ TWARGA_DATA_DIR: dataDir, TWARGA_ADMIN_PASSWORD: ADMIN_PASSWORD, TWARGA_ACCEL: 'tcg', TWARGA_RECONCILE_SECONDS: '1', TWARGA_SSH_PORTS: '24100-24149' });
    const reg = await fetch(`${server.base}/api/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'tenant', email: 'tenant@example.com', password: PASSWORD }) });
    assert.equal(reg.status, 201);
    owner = { id: (await reg.json()).id, token: await login('tenant', PASSWORD) };
    admin = await login('admin', ADMIN_PASSWORD);
    const created = await call('POST', '/api/vms', owner.token, { name: 'runaway', image: 'tiny', size: 's-1vcpu-256mb' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    vmId = created.body.id;
    await until('the VM running', async () => {
      const v = await vm();
      if (v.status === 'error') throw new Error(`VM went to error: ${v.error}`);
      return v.status === 'running' && !v.locked ? v : undefined;
    }, 300_000);
  });
  after(async () => {
    await server?.stop();
    killQemusUnder(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("the admin stops every VM of the user: QEMU ends, the owner sees it stopped, an event says who and why", async () => {
    const pid = Number(readFileSync(path.join(dataDir, 'vms', `vm-${vmId}`, 'qemu.pid'), 'utf8').trim());
    assert.ok(alive(pid), 'QEMU runs before the stop');
    const res = await call('POST', `/api/admin/users/${owner.id}/emergency-stop`, admin, { reason: 'crypto mining' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.skipped, []);
    assert.equal(res.body.requested.length, 1);
    assert.equal(res.body.requested[0].vm_id, vmId);
    assert.equal(res.body.requested[0].user_id, owner.id);

    await until('the VM stopped', async () => {
      const v = await vm();
      return v.status === 'stopped' && !v.locked ? v : undefined;
    }, 120_000);
    await until('QEMU gone', async () => (alive(pid) ? undefined : true), 30_000);
    const action = await call('GET', `/api/actions/${res.body.requested[0].action_id}`, admin);
    assert.equal(action.body.status, 'completed');
    assert.equal(action.body.type, 'stop');

    const events = await call('GET', '/api/soc/events?code=admin.emergency_stop', admin);
    assert.equal(events.status, 200);
    assert.equal(events.body[0].severity, 'critical');
    assert.equal(events.body[0].username, 'admin');
    assert.match(events.body[0].message, /every VM of tenant: crypto mining/);
  });

  test('a second emergency stop finds nothing to stop; stopping the stopped VM is a 409 with the error body', async () => {
    const again = await call('POST', `/api/admin/users/${owner.id}/emergency-stop`, admin);
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, { requested: [], skipped: [] });
    const conflict = await call('POST', `/api/admin/vms/${vmId}/action`, admin, { action: 'stop' });
    assert.equal(conflict.status, 409);
    assert.equal(conflict.body.code, 'conflict');
    assert.ok(conflict.body.message && conflict.body.request_id);
    // The owner was not locked out: they may start it again (the admin can suspend them separately).
    assert.equal((await vm()).status, 'stopped');
    const destroy = await call('POST', `/api/admin/vms/${vmId}/action`, admin, { action: 'destroy' });
    assert.equal(destroy.status, 202);
    await until('the VM destroyed', async () => ((await vm()).status === 'destroyed' ? true : undefined), 60_000);
  });
});
