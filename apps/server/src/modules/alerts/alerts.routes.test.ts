import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { FakeDriver } from '../../test-support/fake-driver.js';
import { createHarness, type Harness } from '../../test-support/harness.js';

for (const kind of testDatabaseKinds()) {
  describe(`alert policies API (${kind})`, () => {
    let h: Harness;
    let admin: string;
    let alice: { id: number; token: string };
    let bob: { id: number; token: string };
    let aliceVm: number;
    let bobVm: number;
    let aliceChannel: number;
    let bobChannel: number;
    before(async () => {
      h = await createHarness(kind, { sshPortRange: '25800-25899', maxAlertPoliciesPerUser: 4 }, new FakeDriver());
      admin = await h.adminToken();
      alice = await h.user('alice');
      bob = await h.user('bob');
      aliceVm = await h.vm(alice, 'web');
      bobVm = await h.vm(bob, 'db');
      const channel = async (u: { token: string }, email: string) => {
        const res = await h.request({ method: 'POST', url: '/api/notifications/channels', token: u.token, body: { kind: 'email', name: 'mail', email } });
        assert.equal(res.statusCode, 201, res.body);
        return res.json().id as number;
      };
      aliceChannel = await channel(alice, 'alice@example.com');
      bobChannel = await channel(bob, 'bob@example.com');
    });
    after(() => h.close());

    const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, token: string, body?: unknown) => h.request({ method, url, token, body });

    test('the default host policies are seeded once, visible and editable by admins only', async () => {
      const list = (await call('GET', '/api/alerts/policies', admin)).json() as { id: number; user_id: number | null; metric: string; value: number; compare: string; window: string; entity: string }[];
      const system = list.filter((p) => p.user_id === null);
      assert.deepEqual(system.map((p) => [p.entity, p.metric, p.compare, p.value, p.window]), [
        ['host', 'cpu_percent', 'GreaterThan', 90, '5m'],
        ['host', 'memory_percent', 'GreaterThan', 85, '5m'],
        ['host', 'fs_percent', 'GreaterThan', 90, '5m'],
        ['host', 'swap_percent', 'GreaterThan', 50, '5m'],
      ]);
      assert.deepEqual((await call('GET', '/api/alerts/policies', alice.token)).json(), [], 'users do not see host policies');
      const cpu = system[0]!;
      const res = await call('PATCH', `/api/alerts/policies/${cpu.id}`, admin, { value: 95, enabled: false });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().value, 95);
      assert.equal(res.json().enabled, false);
      assert.equal(res.json().user_id, null, 'still a system policy');
      for (const method of ['GET', 'PATCH', 'DELETE'] as const) {
        const r = await call(method, `/api/alerts/policies/${cpu.id}`, alice.token, method === 'PATCH' ? { value: 1 } : undefined);
        assert.equal(r.statusCode, 404, `${method}: ${r.body}`);
      }
      // Seeded by the migration: re-running the migrations (a restart) does not bring back or duplicate them.
      const { migrate } = await import('../../db/migrator.js');
      await migrate(h.db.handle.db as never, h.db.handle.kind);
      const again = (await call('GET', '/api/alerts/policies', admin)).json() as { user_id: number | null }[];
      assert.equal(again.filter((p) => p.user_id === null).length, 4);
      await call('PATCH', `/api/alerts/policies/${cpu.id}`, admin, { value: 90, enabled: true });
    });

    test('a user creates, reads, changes and deletes a policy of their VMs', async () => {
      const created = await call('POST', '/api/alerts/policies', alice.token, { entity: 'vm', metric: 'cpu_percent', compare: 'GreaterThan', value: 80, vm_ids: [aliceVm, aliceVm], channel_ids: [aliceChannel], description: ' busy ' });
      assert.equal(created.statusCode, 201, created.body);
      const p = created.json();
      assert.equal(p.user_id, alice.id);
      assert.equal(p.window, '5m', 'default window');
      assert.deepEqual(p.vm_ids, [aliceVm], 'duplicates dropped');
      assert.deepEqual(p.channel_ids, [aliceChannel]);
      assert.equal(p.description, 'busy');
      assert.equal(p.enabled, true);
      assert.deepEqual((await call('GET', `/api/alerts/policies/${p.id}`, alice.token)).json(), p);
      const patched = await call('PATCH', `/api/alerts/policies/${p.id}`, alice.token, { window: '1h', compare: 'LessThan', value: 5, vm_ids: [] });
      assert.equal(patched.statusCode, 200, patched.body);
      assert.equal(patched.json().window, '1h');
      assert.deepEqual(patched.json().vm_ids, [], 'empty: all of my VMs');
      assert.ok((await call('GET', '/api/alerts/policies', alice.token)).json().some((x: { id: number }) => x.id === p.id));
      assert.equal((await call('DELETE', `/api/alerts/policies/${p.id}`, alice.token)).statusCode, 204);
      assert.equal((await call('GET', `/api/alerts/policies/${p.id}`, alice.token)).statusCode, 404);
      assert.equal((await call('DELETE', `/api/alerts/policies/${p.id}`, alice.token)).statusCode, 404);
    });

    test('bad policies are 400s that say what is valid', async () => {
      const base = { entity: 'vm', metric: 'cpu_percent', compare: 'GreaterThan', value: 80 };
      const cases: [unknown, RegExp, string?][] = [
        [{ ...base, metric: 'bogus' }, /valid metrics are cpu_percent, memory_percent, fs_percent, disk_read_bps/],
        [{ ...base, metric: 'swap_percent' }, /Unknown metric "swap_percent" for a vm policy/, 'swap is a host metric'],
        [{ ...base, value: 150 }, /between 0 and 100/],
        [{ ...base, metric: 'net_rx_bps', value: -1 }, /must not be negative/],
        [{ ...base, window: '2m' }, /window/],
        [{ ...base, compare: 'Equal' }, /compare/],
        [{ ...base, vm_ids: [bobVm] }, new RegExp(`VM ${bobVm} is not one of your VMs`), "another user's VM"],
        [{ ...base, vm_ids: [999999] }, /VM 999999 is not one of your VMs/],
        [{ ...base, channel_ids: [bobChannel] }, new RegExp(`channel ${bobChannel} is not one of your channels`), "another user's channel"],
        [{ ...base, surprise: 1 }, /surprise is not an allowed field/],
      ];
      for (const [body, message, why] of cases) {
        const res = await call('POST', '/api/alerts/policies', alice.token, body);
        assert.equal(res.statusCode, 400, `${JSON.stringify(body)} ${why ?? ''}: ${res.body}`);
        assert.equal(res.json().code, 'validation_failed');
        assert.match(res.json().message, message, why);
      }
      const host = await call('POST', '/api/alerts/policies', admin, { entity: 'host', metric: 'load1', compare: 'GreaterThan', value: 4, vm_ids: [aliceVm] });
      assert.equal(host.statusCode, 400);
      assert.match(host.json().message, /vm_ids apply to VM policies only/);
      const own = (await call('POST', '/api/alerts/policies', alice.token, base)).json();
      const patch = await call('PATCH', `/api/alerts/policies/${own.id}`, alice.token, { metric: 'load1' });
      assert.equal(patch.statusCode, 400);
      assert.match(patch.json().message, /valid metrics are/);
      const patchVm = await call('PATCH', `/api/alerts/policies/${own.id}`, alice.token, { vm_ids: [bobVm] });
      assert.equal(patchVm.statusCode, 400);
      assert.equal((await call('GET', `/api/alerts/policies/${own.id}`, alice.token)).json().vm_ids.length, 0, 'a refused change changes nothing');
      await call('DELETE', `/api/alerts/policies/${own.id}`, alice.token);
    });

    test('host policies are for admins; an admin makes one with their own channels', async () => {
      const denied = await call('POST', '/api/alerts/policies', alice.token, { entity: 'host', metric: 'load1', compare: 'GreaterThan', value: 4 });
      assert.equal(denied.statusCode, 403);
      assert.equal(denied.json().code, 'forbidden');
      const other = await call('POST', '/api/alerts/policies', admin, { entity: 'host', metric: 'load1', compare: 'GreaterThan', value: 4, channel_ids: [aliceChannel] });
      assert.equal(other.statusCode, 400, 'not the admin’s channel');
      const ok = await call('POST', '/api/alerts/policies', admin, { entity: 'host', metric: 'load1', compare: 'GreaterThan', value: 4 });
      assert.equal(ok.statusCode, 201, ok.body);
      assert.equal((await call('GET', `/api/alerts/policies/${ok.json().id}`, alice.token)).statusCode, 404);
      assert.equal((await call('DELETE', `/api/alerts/policies/${ok.json().id}`, admin)).statusCode, 204);
    });

    test("another user's policy is 404 for every verb and stays unchanged", async () => {
      const p = (await call('POST', '/api/alerts/policies', alice.token, { entity: 'vm', metric: 'fs_percent', compare: 'GreaterThan', value: 90, description: 'alice-secret-policy' })).json();
      for (const [method, body] of [['GET'], ['PATCH', { value: 10 }], ['DELETE']] as const) {
        const res = await call(method, `/api/alerts/policies/${p.id}`, bob.token, body);
        assert.equal(res.statusCode, 404, `${method}: ${res.body}`);
        assert.equal(res.json().code, 'not_found');
        assert.ok(!res.body.includes('alice-secret-policy'));
      }
      assert.ok(!(await call('GET', '/api/alerts/policies', bob.token)).body.includes('alice-secret-policy'));
      const still = (await call('GET', `/api/alerts/policies/${p.id}`, alice.token)).json();
      assert.equal(still.value, 90);
      await call('DELETE', `/api/alerts/policies/${p.id}`, alice.token);
    });

    test('a user may have maxAlertPoliciesPerUser policies: then quota_exceeded', async () => {
      const ids: number[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await call('POST', '/api/alerts/policies', bob.token, { entity: 'vm', metric: 'cpu_percent', compare: 'GreaterThan', value: 50 + i });
        assert.equal(res.statusCode, 201, res.body);
        ids.push(res.json().id);
      }
      const over = await call('POST', '/api/alerts/policies', bob.token, { entity: 'vm', metric: 'cpu_percent', compare: 'GreaterThan', value: 99 });
      assert.equal(over.statusCode, 403);
      assert.equal(over.json().code, 'quota_exceeded');
      assert.match(over.json().message, /at most 4 alert policies/);
      assert.equal((await call('POST', '/api/alerts/policies', alice.token, { entity: 'vm', metric: 'cpu_percent', compare: 'GreaterThan', value: 99 })).statusCode, 201, 'the limit is per user');
      await call('DELETE', `/api/alerts/policies/${ids[0]}`, bob.token);
      assert.equal((await call('POST', '/api/alerts/policies', bob.token, { entity: 'vm', metric: 'cpu_percent', compare: 'GreaterThan', value: 99 })).statusCode, 201);
    });

    test('GET /api/metrics/alerts: users see the alerts of their VMs, admins all; bad queries are 400', async () => {
      await h.services.alerts.raiseCondition({ userId: alice.id, vmId: aliceVm, metric: 'test_condition', message: 'VM "web" stopped answering' });
      await h.services.alerts.raiseCondition({ userId: bob.id, vmId: bobVm, metric: 'test_condition', message: 'VM "db" stopped answering' });
      const mine = (await call('GET', '/api/metrics/alerts', alice.token)).json() as { vm_id: number; user_id: number; state: string; policy_id: number | null }[];
      assert.deepEqual(mine.map((a) => [a.vm_id, a.user_id, a.state, a.policy_id]), [[aliceVm, alice.id, 'open', null]]);
      assert.equal((await call('GET', `/api/metrics/alerts?vm_id=${bobVm}`, alice.token)).statusCode, 404, "another user's VM");
      assert.equal((await call('GET', `/api/metrics/alerts?vm_id=${aliceVm}&state=resolved`, alice.token)).json().length, 0);
      const all = (await call('GET', '/api/metrics/alerts?state=open', admin)).json() as { vm_id: number }[];
      assert.deepEqual(all.map((a) => a.vm_id).sort(), [aliceVm, bobVm].sort());
      for (const q of ['state=closed', 'limit=0', 'limit=501', 'vm_id=abc']) {
        const res = await call('GET', `/api/metrics/alerts?${q}`, alice.token);
        assert.equal(res.statusCode, 400, q);
        assert.equal(res.json().code, 'validation_failed');
      }
      assert.equal((await call('GET', '/api/metrics/alerts?limit=1', admin)).json().length, 1);
    });
  });
}
