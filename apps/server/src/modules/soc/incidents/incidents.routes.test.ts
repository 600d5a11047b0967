import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SocIncident, SocIncidentDetail, SocRule } from '@twarga/contract';
import { testDatabaseKinds } from '../../../test-support/databases.js';
import { FakeDriver } from '../../../test-support/fake-driver.js';
import { createHarness, type Harness } from '../../../test-support/harness.js';

/** Incidents through the API: one per rule and group while unresolved, the status flow with its history, who may see and act, rule tuning. */
for (const kind of testDatabaseKinds()) {
  describe(`SOC incidents and rules API (${kind})`, () => {
    let h: Harness;
    let admin: string;
    let alice: { id: number; token: string };
    let bob: { id: number; token: string };
    let vm: number;
    let port = 41000;

    before(async () => {
      h = await createHarness(kind, { sshPortRange: '27150-27199' }, new FakeDriver());
      admin = await h.adminToken();
      alice = await h.user('alice');
      bob = await h.user('bob');
      vm = await h.vm(alice, 'web');
    });
    after(() => h.close());

    const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, token: string, body?: unknown) => h.request({ method, url, token, body });
    const failures = async (ip: string, n: number) => {
      for (let i = 0; i < n; i++) {
        await h.services.events.record({
          type: 'security', severity: 'warning', action: 'ssh.login_failed', message: `Failed password for root from ${ip}`,
          userId: alice.id, vmId: vm, sourceIp: ip, details: { user: 'root', client_port: ++port },
        });
      }
      await h.services.soc.detection.engine.idle();
    };
    const bruteForce = async (ip: string) =>
      ((await call('GET', '/api/soc/incidents?limit=500', admin)).json() as SocIncident[]).filter((i) => i.rule_id === 'ssh_brute_force' && i.source_ip === ip);

    test('status flow with history; one incident per rule and group until resolved; a resolved one may not be reopened while another is open', async () => {
      const ip = '198.51.100.61';
      await failures(ip, 5);
      const [first] = await bruteForce(ip);
      assert.ok(first);
      let res = await call('POST', `/api/soc/incidents/${first.id}/actions`, alice.token, { status: 'acknowledged', comment: 'looking into it' });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal((res.json() as SocIncidentDetail).status, 'acknowledged');
      await failures(ip, 2);
      assert.equal((await bruteForce(ip)).length, 1, 'an acknowledged incident still collects its group');
      assert.equal((await bruteForce(ip))[0]!.event_count, 7);

      res = await call('POST', `/api/soc/incidents/${first.id}/actions`, alice.token, { status: 'acknowledged' });
      assert.equal(res.statusCode, 409, 'acknowledged already');
      res = await call('POST', `/api/soc/incidents/${first.id}/actions`, alice.token, { comment: 'it is a pentest' });
      assert.equal(res.statusCode, 200);
      res = await call('POST', `/api/soc/incidents/${first.id}/actions`, admin, { status: 'resolved', comment: 'blocked, done' });
      assert.equal(res.statusCode, 200);
      const resolved = res.json() as SocIncidentDetail;
      assert.equal(resolved.status, 'resolved');
      assert.deepEqual(
        resolved.history.map((e) => [e.action, e.actor_username, e.comment]),
        [
          ['opened', null, resolved.history[0]!.comment],
          ['blocked', null, resolved.history[1]!.comment],
          ['acknowledged', 'alice', 'looking into it'],
          ['comment', 'alice', 'it is a pentest'],
          ['resolved', 'admin', 'blocked, done'],
        ],
      );
      assert.match(resolved.history[0]!.comment!, /5 matching events/);

      await failures(ip, 4);
      assert.equal((await bruteForce(ip)).length, 1, 'after resolving, the group starts afresh: 4 is below the threshold');
      await failures(ip, 1);
      const now = await bruteForce(ip);
      assert.equal(now.length, 2, 'a new incident');
      assert.equal(now[0]!.status, 'open');
      assert.equal(now[0]!.event_count, 5);

      res = await call('POST', `/api/soc/incidents/${first.id}/actions`, admin, { status: 'open' });
      assert.equal(res.statusCode, 409, 'another incident of the same rule and group is open');
      res = await call('POST', `/api/soc/incidents/${now[0]!.id}/actions`, alice.token, { status: 'false_positive', comment: 'my own script' });
      assert.equal(res.statusCode, 200);
      res = await call('POST', `/api/soc/incidents/${first.id}/actions`, admin, { status: 'open', comment: 'it came back' });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal((res.json() as SocIncidentDetail).history.at(-1)!.action, 'reopened');
      await failures(ip, 1);
      assert.equal((await bruteForce(ip)).find((i) => i.id === first.id)!.event_count, 8, 'the reopened incident collects its group again');
      res = await call('POST', `/api/soc/incidents/${first.id}/actions`, admin, { status: 'acknowledged' });
      res = await call('POST', `/api/soc/incidents/${first.id}/actions`, admin, { status: 'open' });
      assert.equal(res.statusCode, 200, 'acknowledged back to open');
      res = await call('POST', `/api/soc/incidents/${now[0]!.id}/actions`, admin, { status: 'acknowledged' });
      assert.equal(res.statusCode, 400, 'a false positive cannot be acknowledged');

      const updates = (await h.services.events.list({ action: 'soc.incident_updated', limit: 100 })).filter((e) => e.details.incident_id === first.id);
      assert.ok(updates.some((e) => e.details.action === 'resolved' && e.details.actor_username === 'admin'));
    });

    test("a user cannot read or act on another user's incidents (404) and sees only theirs", async () => {
      const ip = '198.51.100.62';
      await failures(ip, 5);
      const [incident] = await bruteForce(ip);
      assert.equal(incident!.user_id, alice.id);
      for (const [method, url, body] of [
        ['GET', `/api/soc/incidents/${incident!.id}`, undefined],
        ['POST', `/api/soc/incidents/${incident!.id}/actions`, { status: 'resolved' }],
        ['POST', `/api/soc/incidents/${incident!.id}/block`, { scope: 'vm' }],
      ] as const) {
        const res = await call(method, url, bob.token, body);
        assert.equal(res.statusCode, 404, `${method} ${url}: ${res.body}`);
        assert.ok(!res.body.includes(ip));
      }
      const list = (await call('GET', '/api/soc/incidents', bob.token)).json() as SocIncident[];
      assert.ok(!list.some((i) => i.id === incident!.id));
      assert.equal((await call('GET', `/api/soc/incidents/${incident!.id}`, alice.token)).statusCode, 200);
      assert.equal((await call('GET', `/api/soc/incidents/${incident!.id}`, admin)).json().status, 'open', 'bob changed nothing');
      assert.equal((await call('GET', '/api/soc/incidents/999999', admin)).statusCode, 404);
    });

    test('rules: everyone reads them; only admins tune them (audited), and the engine follows at once', async () => {
      const rules = (await call('GET', '/api/soc/rules', bob.token)).json() as SocRule[];
      assert.ok(rules.length >= 9);
      const brute = rules.find((r) => r.id === 'ssh_brute_force')!;
      assert.deepEqual([brute.kind, brute.threshold, brute.window_seconds, brute.group_by, brute.mitre], ['event_count', 5, 600, ['source_ip', 'vm_id'], 'T1110.001']);

      let res = await call('PATCH', '/api/soc/rules/ssh_brute_force', bob.token, { threshold: 2 });
      assert.equal(res.statusCode, 403, 'users cannot tune rules');
      res = await call('PATCH', '/api/soc/rules/ssh_brute_force', admin, { threshold: 2, response: {} });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal((res.json() as SocRule).threshold, 2);
      await failures('198.51.100.63', 2);
      assert.equal((await bruteForce('198.51.100.63')).length, 1, 'fires at the new threshold');
      assert.equal(h.services.soc.blocklist.blocksVm('198.51.100.63', vm), false, 'no block response any more');

      res = await call('PATCH', '/api/soc/rules/ssh_brute_force', admin, { enabled: false });
      await failures('198.51.100.64', 6);
      assert.equal((await bruteForce('198.51.100.64')).length, 0, 'a disabled rule does not fire');

      res = await call('PATCH', '/api/soc/rules/vm_churn', admin, { response: { block: { scope: 'control_plane', duration_seconds: 600 } } });
      assert.equal(res.statusCode, 400, 'vm_churn has no single address to block');
      res = await call('PATCH', '/api/soc/rules/credential_stuffing', admin, { response: { block: { scope: 'vm', duration_seconds: 600 } } });
      assert.equal(res.statusCode, 400, 'credential_stuffing has no VM');
      res = await call('PATCH', '/api/soc/rules/no_such_rule', admin, { enabled: true });
      assert.equal(res.statusCode, 404);
      res = await call('PATCH', '/api/soc/rules/ssh_brute_force', admin, { threshold: 0 });
      assert.equal(res.statusCode, 400);
      res = await call('PATCH', '/api/soc/rules/ssh_brute_force', admin, { enabled: true, threshold: 5, response: { block: { scope: 'vm', duration_seconds: 600 } } });
      assert.equal(res.statusCode, 200);

      const audit = await h.services.events.list({ action: 'soc.rule_updated', limit: 20 });
      assert.ok(audit.length >= 3);
      assert.equal(audit.at(-1)!.username, 'admin');
      assert.deepEqual(audit.at(-1)!.details.changes, { threshold: { from: 5, to: 2 }, response: { from: { block: { scope: 'vm', duration_seconds: 600 } }, to: {} } });
    });
  });
}
