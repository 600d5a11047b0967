import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { EMERGENCY_STOP_ALL_PHRASE } from '@twarga/contract';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { FakeDriver } from '../../test-support/fake-driver.js';
import { createHarness, type Harness } from '../../test-support/harness.js';

type U = { id: number; token: string };

/** The admin's VM operations: every user's VMs, stop/destroy of one, emergency stops. */
for (const kind of testDatabaseKinds()) {
  describe(`admin VMs (${kind})`, () => {
    let h: Harness;
    let admin: string;
    let ann: U;
    let ben: U;
    const ids: Record<string, number> = {};
    before(async () => {
      h = await createHarness(kind, { maxVmsPerUser: 5, sshPortRange: '27450-27499' }, new FakeDriver());
      admin = await h.adminToken();
      ann = await h.user('ann');
      ben = await h.user('ben');
      for (const [owner, name] of [[ann, 'ann-web'], [ann, 'ann-db'], [ben, 'ben-web']] as const) ids[name] = await h.vm(owner, name);
    });
    after(() => h.close());

    const get = (url: string, token = admin) => h.request({ method: 'GET', url, token });
    const post = (url: string, body?: unknown, token = admin) => h.request({ method: 'POST', url, token, body });
    const statusOf = async (id: number, token: string) => (await get(`/api/vms/${id}`, token)).json().status as string;
    const list = async (query: string) => {
      const res = await get(`/api/admin/vms?${query}`);
      assert.equal(res.statusCode, 200, res.body);
      return { names: (res.json() as { name: string }[]).map((v) => v.name), total: Number(res.headers['x-total-count']), rows: res.json() };
    };

    test("every user's live VMs with owner and host, filtered and paged", async () => {
      const all = await list('');
      assert.deepEqual(all.names, ['ann-web', 'ann-db', 'ben-web']);
      assert.equal(all.total, 3);
      assert.deepEqual(all.rows.map((v: { owner_username: string }) => v.owner_username), ['ann', 'ann', 'ben']);
      assert.ok(all.rows.every((v: { host_name: string | null }) => typeof v.host_name === 'string'));
      assert.deepEqual((await list(`owner_id=${ben.id}`)).names, ['ben-web']);
      assert.deepEqual((await list('q=WEB')).names, ['ann-web', 'ben-web'], 'the VM name, case-insensitive');
      assert.deepEqual((await list('q=ben')).names, ['ben-web'], "the owner's name");
      const hostId = all.rows[0].host_id;
      assert.equal((await list(`host_id=${hostId}`)).total, 3);
      assert.equal((await list(`host_id=${hostId + 1000}`)).total, 0);
      const page = await list('limit=2&offset=2');
      assert.deepEqual(page.names, ['ben-web']);
      assert.equal(page.total, 3);
      assert.deepEqual((await list('status=running')).names, ['ann-web', 'ann-db', 'ben-web']);
      assert.deepEqual((await list('status=stopped')).names, []);
      for (const bad of ['status=asleep', 'health=great', 'owner_id=0', 'limit=0', 'nope=1']) {
        const res = await get(`/api/admin/vms?${bad}`);
        assert.equal(res.statusCode, 400, bad);
        assert.equal(res.json().code, 'validation_failed');
      }
    });

    test('the health filter reads health as the API shows it (a health of an earlier boot is booting)', async () => {
      const db = h.db.handle.db;
      const row = await db.selectFrom('vms').select(['booted_at']).where('id', '=', ids['ann-db']!).executeTakeFirstOrThrow();
      await db.updateTable('vms').set({ health: 'unresponsive', health_boot: row.booted_at, health_since: row.booted_at }).where('id', '=', ids['ann-db']!).execute();
      // ben-web's health belongs to a boot that is over: it reads as booting.
      await db.updateTable('vms').set({ health: 'responsive', health_boot: '2020-01-01T00:00:00.000Z', health_since: '2020-01-01T00:00:00.000Z' }).where('id', '=', ids['ben-web']!).execute();
      const unresponsive = await list('health=unresponsive');
      assert.deepEqual(unresponsive.names, ['ann-db']);
      assert.equal(unresponsive.rows[0].health, 'unresponsive');
      const booting = await list('health=booting');
      assert.deepEqual(booting.names, ['ann-web', 'ben-web']);
      assert.ok(booting.rows.every((v: { health: string }) => v.health === 'booting'));
      assert.deepEqual((await list('health=responsive')).names, []);
    });

    test("an admin stops and destroys someone's VM: 202 and an action, the owner sees it, an event says who", async () => {
      const res = await post(`/api/admin/vms/${ids['ann-web']}/action`, { action: 'stop', force: true, reason: 'abuse report' });
      assert.equal(res.statusCode, 202, res.body);
      assert.equal(res.json().type, 'stop');
      await h.services.ops.idle();
      assert.equal(await statusOf(ids['ann-web']!, ann.token), 'stopped');
      const event = (await h.services.events.list({ action: 'admin.vm_action' }))[0]!;
      assert.equal(event.username, 'admin');
      assert.equal(event.vm_id, ids['ann-web']);
      assert.match(event.message, /stop ann's VM ann-web \(forced\): abuse report/);

      const audit = await h.db.handle.db.selectFrom('audit_log').selectAll().where('action', '=', 'vm.admin_stop').orderBy('id', 'desc').executeTakeFirstOrThrow();
      assert.deepEqual([audit.target_type, audit.target_id, audit.target_label, JSON.parse(audit.before!)], ['vm', String(ids['ann-web']), 'ann-web', { status: 'running' }]);
      assert.deepEqual(JSON.parse(audit.after!), { status: 'stopping', action_id: res.json().id });

      const again = await post(`/api/admin/vms/${ids['ann-web']}/action`, { action: 'stop' });
      assert.equal(again.statusCode, 409, 'a stopped VM cannot be stopped');
      assert.equal(again.json().code, 'conflict');

      const destroy = await post(`/api/admin/vms/${ids['ann-web']}/action`, { action: 'destroy' });
      assert.equal(destroy.statusCode, 202, destroy.body);
      await h.services.ops.idle();
      assert.equal(await statusOf(ids['ann-web']!, ann.token), 'destroyed');
      assert.equal((await list('')).total, 2, 'destroyed VMs leave the list');
      assert.equal((await post(`/api/admin/vms/${ids['ann-web']}/action`, { action: 'destroy' })).statusCode, 409);
      assert.equal((await post('/api/admin/vms/99999/action', { action: 'stop' })).statusCode, 404);
      for (const body of [{ action: 'start' }, { action: 'stop', force: 'yes' }, {}, { action: 'stop', extra: 1 }]) {
        const bad = await post(`/api/admin/vms/${ids['ann-db']}/action`, body);
        assert.equal(bad.statusCode, 400, JSON.stringify(body));
        assert.equal(bad.json().code, 'validation_failed');
      }
      assert.equal(await statusOf(ids['ann-db']!, ann.token), 'running', 'bad requests changed nothing');
    });

    test("an emergency stop of one user stops all of theirs and nobody else's", async () => {
      const extra = await h.vm(ann, 'ann-extra');
      const res = await post(`/api/admin/users/${ann.id}/emergency-stop`, { reason: 'compromised account' });
      assert.equal(res.statusCode, 200, res.body);
      const result = res.json();
      assert.deepEqual(result.requested.map((r: { vm_id: number }) => r.vm_id).sort(), [ids['ann-db'], extra].sort());
      assert.ok(result.requested.every((r: { user_id: number; action_id: number }) => r.user_id === ann.id && r.action_id > 0));
      assert.deepEqual(result.skipped, []);
      await h.services.ops.idle();
      assert.equal(await statusOf(ids['ann-db']!, ann.token), 'stopped');
      assert.equal(await statusOf(extra, ann.token), 'stopped');
      assert.equal(await statusOf(ids['ben-web']!, ben.token), 'running');
      const event = (await h.services.events.list({ action: 'admin.emergency_stop' }))[0]!;
      assert.equal(event.severity, 'critical');
      assert.match(event.message, /every VM of ann: compromised account/);

      const none = await post(`/api/admin/users/${ann.id}/emergency-stop`);
      assert.equal(none.statusCode, 200, 'nothing left to stop is not an error');
      assert.deepEqual(none.json(), { requested: [], skipped: [] });
      assert.equal((await post('/api/admin/users/99999/emergency-stop', {})).statusCode, 404);
      assert.equal((await post(`/api/admin/users/${ann.id}/emergency-stop`, { reason: '' })).statusCode, 400);
    });

    test('stopping everything needs the exact phrase; with it every running VM stops', async () => {
      for (const body of [{ confirm: 'stop all vms' }, { confirm: '' }, {}]) {
        const res = await post('/api/admin/emergency-stop-all', body);
        assert.equal(res.statusCode, 400, JSON.stringify(body));
        assert.equal(res.json().code, 'validation_failed');
        assert.equal(res.json().details[0].field, 'confirm');
      }
      assert.equal(await statusOf(ids['ben-web']!, ben.token), 'running', 'a wrong phrase stops nothing');
      const refused = await h.db.handle.db.selectFrom('audit_log').selectAll().where('action', '=', 'emergency_stop_all').orderBy('id', 'desc').executeTakeFirstOrThrow();
      assert.deepEqual([refused.outcome, refused.status_code], ['failed', 400]);
      const res = await post('/api/admin/emergency-stop-all', { confirm: EMERGENCY_STOP_ALL_PHRASE, reason: 'host compromised' });
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json().requested.map((r: { vm_id: number }) => r.vm_id), [ids['ben-web']]);
      await h.services.ops.idle();
      assert.equal(await statusOf(ids['ben-web']!, ben.token), 'stopped');
      const event = (await h.services.events.list({ action: 'admin.emergency_stop' }))[0]!;
      assert.equal(event.severity, 'critical');
      assert.equal((event.details as { scope: string }).scope, 'all');
    });

    test('plain users get 403 and change nothing', async () => {
      await post(`/api/vms/${ids['ben-web']}/action`, { action: 'start' }, ben.token);
      await h.services.ops.idle();
      const routes: [string, unknown][] = [
        [`/api/admin/vms/${ids['ben-web']}/action`, { action: 'stop' }],
        [`/api/admin/users/${ben.id}/emergency-stop`, {}],
        ['/api/admin/emergency-stop-all', { confirm: EMERGENCY_STOP_ALL_PHRASE }],
      ];
      for (const [url, body] of routes) assert.equal((await post(url, body, ann.token)).statusCode, 403, url);
      assert.equal((await get('/api/admin/vms', ann.token)).statusCode, 403);
      assert.equal(await statusOf(ids['ben-web']!, ben.token), 'running');
    });
  });
}
