import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { EventCode, SocIncident, SocIncidentDetail } from '@twarga/contract';
import { testDatabaseKinds } from '../../../test-support/databases.js';
import { FakeDriver } from '../../../test-support/fake-driver.js';
import { ADMIN_PASSWORD, createHarness, PASSWORD, type Harness } from '../../../test-support/harness.js';
import { Receiver } from '../../../test-support/notification-sinks.js';

/**
 * Each default rule on real events recorded through the event log (as the syslog ingest, the
 * auth service and the guard record them): it fires at its threshold and not one below, events
 * marked as ours never count, and a folded repeat counts by its increase.
 */
for (const kind of testDatabaseKinds()) {
  describe(`detection rules on recorded events (${kind})`, () => {
    let h: Harness;
    let admin: string;
    let alice: { id: number; token: string };
    let bob: { id: number; token: string };
    let vmA: number;
    let vmB: number;
    let port = 40000;
    const receiver = new Receiver();

    before(async () => {
      await receiver.start();
      h = await createHarness(kind, { sshPortRange: '27100-27149', webhookAllowHosts: '127.0.0.1', notificationRetrySeconds: '0.05', socNotifyMinIntervalSeconds: 0 }, new FakeDriver());
      admin = await h.adminToken();
      alice = await h.user('alice');
      bob = await h.user('bob');
      await h.request({ method: 'POST', url: `/api/admin/users/${alice.id}/credits`, token: admin, body: { amount: 100_000, reason: 'test' } });
      const vm = async (name: string) => {
        const res = await h.request({ method: 'POST', url: '/api/vms', token: alice.token, body: { name, image: 'tiny', size: 's-1vcpu-1gb' } });
        assert.equal(res.statusCode, 201, res.body);
        return res.json().id as number;
      };
      vmA = await vm('web');
      vmB = await vm('db');
      await h.services.ops.idle();
      for (const token of [admin, alice.token]) {
        const res = await h.request({ method: 'POST', url: '/api/notifications/channels', token, body: { kind: 'webhook', name: 'hook', url: receiver.url('/ok') } });
        assert.equal(res.statusCode, 201, res.body);
      }
    });
    after(async () => {
      await h.close();
      await receiver.stop();
    });

    const settle = async () => {
      await h.services.soc.detection.engine.idle();
      await h.services.notifications.idle();
    };
    /** An SSH event as the syslog ingest records it (each connection has its own client port). */
    const ssh = async (code: EventCode, vmId: number, ip: string, user = 'root', extra: Record<string, unknown> = {}) => {
      await h.services.events.record({
        type: 'security', severity: 'warning', action: code, message: `${code} as '${user}' on VM ${vmId} from ${ip}`,
        userId: alice.id, vmId, sourceIp: ip, details: { user, client_port: ++port, via: 'gateway', ours: false, ...extra },
      });
      await settle();
    };
    const incidents = async (ruleId: string, token = admin) =>
      ((await h.request({ method: 'GET', url: '/api/soc/incidents?limit=500', token })).json() as SocIncident[]).filter((i) => i.rule_id === ruleId);
    const detail = async (id: number, token = admin) => (await h.request({ method: 'GET', url: `/api/soc/incidents/${id}`, token })).json() as SocIncidentDetail;

    test('ssh_brute_force: 4 failures are not an attack, ours never count, the 5th opens one incident for the VM owner and blocks the address on that VM', async () => {
      const ip = '198.51.100.7';
      for (let i = 0; i < 4; i++) await ssh(i % 2 ? 'ssh.invalid_user' : 'ssh.login_failed', vmA, ip, `u${i}`);
      for (let i = 0; i < 3; i++) await ssh('ssh.login_failed', vmA, ip, 'root', { ours: true });
      await ssh('ssh.login_failed', vmB, ip);
      assert.deepEqual(await incidents('ssh_brute_force'), [], 'four failures on one VM (and ours, and one on another VM) are below the threshold');
      assert.equal(h.services.soc.blocklist.blocksVm(ip, vmA), false);

      await ssh('ssh.login_failed', vmA, ip);
      const [incident, ...more] = await incidents('ssh_brute_force');
      assert.equal(more.length, 0);
      assert.equal(incident!.vm_id, vmA);
      assert.equal(incident!.source_ip, ip);
      assert.equal(incident!.user_id, alice.id, 'the VM owner');
      assert.equal(incident!.event_count, 5);
      assert.equal(incident!.mitre, 'T1110.001');
      assert.equal(incident!.severity, 'warning');
      assert.deepEqual(incident!.group, { source_ip: ip, vm_id: vmA });
      assert.equal((await detail(incident!.id)).event_ids.length, 5, 'its five events are linked');
      assert.equal((await incidents('ssh_brute_force', alice.token)).length, 1, 'the owner sees it');
      assert.equal((await incidents('ssh_brute_force', bob.token)).length, 0);

      assert.equal(h.services.soc.blocklist.blocksVm(ip, vmA), true, 'the response blocked the address on the attacked VM');
      assert.equal(h.services.soc.blocklist.blocksVm(ip, vmB), false, 'only there');
      assert.equal(h.services.soc.blocklist.blocksVm('198.51.100.8', vmA), false);
      const history = (await detail(incident!.id)).history.map((e) => e.action);
      assert.deepEqual(history, ['opened', 'blocked']);

      await ssh('ssh.login_failed', vmA, ip);
      await ssh('ssh.invalid_user', vmA, ip, 'admin');
      const again = await incidents('ssh_brute_force');
      assert.equal(again.length, 1, 'one incident per rule and group while it is open');
      assert.equal(again[0]!.event_count, 7);
    });

    test('a folded repeat counts by its increase: an identical failure repeated 4 times (one row, count 4) does not fire, the 5th does', async () => {
      const ip = '198.51.100.20';
      const same = () =>
        h.services.events.record({ type: 'security', severity: 'warning', action: 'ssh.login_failed', message: `Failed password for root on VM ${vmB} from ${ip}`, userId: alice.id, vmId: vmB, sourceIp: ip, details: { user: 'root' } });
      for (let i = 0; i < 4; i++) await same();
      await settle();
      const rows = (await h.services.events.list({ action: 'ssh.login_failed', limit: 500 })).filter((e) => e.source_ip === ip);
      assert.deepEqual(rows.map((e) => e.count), [4], 'the four occurrences share one row');
      assert.deepEqual(await incidents('ssh_brute_force').then((l) => l.filter((i) => i.source_ip === ip)), [], 'published as 1, 2, 3, 4: counted 4, not 10');
      await same();
      await settle();
      const list = (await incidents('ssh_brute_force')).filter((i) => i.source_ip === ip);
      assert.equal(list.length, 1);
      assert.equal(list[0]!.event_count, 5);
      assert.equal((await detail(list[0]!.id)).event_ids.length, 1, 'one row, linked once');
    });

    test('ssh_user_enumeration: 5 different unknown users from one address on one VM (repeats of one name do not add up)', async () => {
      const ip = '198.51.100.30';
      for (const user of ['oracle', 'oracle', 'oracle', 'test', 'guest', 'ubuntu']) await ssh('ssh.invalid_user', vmB, ip, user);
      assert.deepEqual(await incidents('ssh_user_enumeration'), [], 'four different names');
      await ssh('ssh.invalid_user', vmB, ip, 'git');
      const [incident] = await incidents('ssh_user_enumeration');
      assert.equal(incident?.vm_id, vmB);
      assert.equal(incident?.mitre, 'T1087');
      assert.equal(incident?.event_count, 7);
    });

    test('ssh_success_after_failures (temporal, critical): a success before the 5th failure does not count; 5 failures then a success opens it and notifies the admins and the owner', async () => {
      const ip = '198.51.100.40';
      await ssh('ssh.login_succeeded', vmA, ip);
      for (let i = 0; i < 4; i++) await ssh('ssh.login_failed', vmA, ip);
      await ssh('ssh.login_succeeded', vmA, ip);
      await ssh('ssh.login_failed', vmA, ip);
      assert.deepEqual(await incidents('ssh_success_after_failures'), [], 'the success came after 4 failures only');
      await ssh('ssh.login_succeeded', vmA, ip, 'root', { ours: true });
      assert.deepEqual(await incidents('ssh_success_after_failures'), [], 'our own login never counts');
      const before = receiver.hits('/ok').length;
      await ssh('ssh.login_succeeded', vmA, ip);
      const [incident] = await incidents('ssh_success_after_failures');
      assert.equal(incident?.severity, 'critical');
      assert.equal(incident?.mitre, 'T1110');
      assert.equal(incident?.user_id, alice.id);
      const sent = receiver.hits('/ok').slice(before).map((g) => JSON.parse(g.raw.toString()) as { topic: string; data: { incident: SocIncident } });
      const about = sent.filter((b) => b.topic === 'soc.incident_opened' && b.data.incident.id === incident!.id);
      assert.equal(about.length, 2, "one to the admin's channel, one to the VM owner's");
      const opened = (await h.services.events.list({ action: 'soc.incident_opened', limit: 100 })).find((e) => e.details.incident_id === incident!.id);
      assert.equal(opened?.severity, 'critical', "soc.incident_opened has the rule's severity");
    });

    test('control_plane_brute_force through POST /api/auth/login: lockout as before, and at 10 attempts a critical incident about the account, the address blocked on the control plane', async () => {
      const ip = '203.0.113.9';
      const login = () => h.app.inject({ method: 'POST', url: '/api/auth/login', remoteAddress: ip, payload: { username: 'alice', password: 'wrong password' } });
      const statuses: number[] = [];
      for (let i = 0; i < 9; i++) statuses.push((await login()).statusCode);
      await settle();
      assert.deepEqual(statuses.slice(0, 4), [401, 401, 401, 401]);
      assert.ok(statuses.slice(4).every((s) => s !== 401 && s >= 400), `locked out from the 5th attempt: ${statuses}`);
      assert.deepEqual(await incidents('control_plane_brute_force'), []);
      const before = receiver.hits('/ok').length;
      await login();
      await settle();
      const [incident, ...more] = await incidents('control_plane_brute_force');
      assert.equal(more.length, 0);
      assert.equal(incident!.severity, 'critical');
      assert.equal(incident!.source_ip, ip);
      assert.equal(incident!.user_id, alice.id, 'every attempt targeted alice: her incident too');
      assert.equal(incident!.event_count, 10);
      assert.equal(h.services.soc.blocklist.blocksControlPlane(ip), true);
      assert.equal(h.services.soc.blocklist.blocksControlPlane('127.0.0.1'), false);
      const sent = receiver.hits('/ok').slice(before).map((g) => JSON.parse(g.raw.toString()) as { topic: string; data: { incident: SocIncident } });
      assert.equal(sent.filter((b) => b.topic === 'soc.incident_opened' && b.data.incident.id === incident!.id).length, 1, 'the admins are notified (not a VM incident: not the owner)');
    });

    test('credential_stuffing: failed sign-ins for 5 different logins from one address', async () => {
      const ip = '203.0.113.20';
      const login = (username: string) => h.app.inject({ method: 'POST', url: '/api/auth/login', remoteAddress: ip, payload: { username, password: 'x' } });
      for (const name of ['ann', 'ben', 'cat', 'ann', 'dan']) await login(name);
      await settle();
      assert.deepEqual(await incidents('credential_stuffing'), []);
      await login('eve');
      await settle();
      const [incident] = await incidents('credential_stuffing');
      assert.equal(incident?.mitre, 'T1110.004');
      assert.equal(incident?.user_id, null, 'many accounts: admins only');
    });

    test('repeated_forbidden: 20 refused requests from one address (folded into one event row, counted by increase)', async () => {
      const ip = '203.0.113.30';
      const forbidden = () => h.app.inject({ method: 'GET', url: '/api/admin/users', remoteAddress: ip, headers: { authorization: `Bearer ${bob.token}` } });
      for (let i = 0; i < 19; i++) assert.equal((await forbidden()).statusCode, 403);
      await settle();
      assert.deepEqual(await incidents('repeated_forbidden'), []);
      await forbidden();
      await settle();
      const [incident] = await incidents('repeated_forbidden');
      assert.equal(incident?.event_count, 20);
      assert.equal(incident?.user_id, null, 'the user of a 403 is who was refused: admins only');
      assert.equal((await incidents('repeated_forbidden', bob.token)).length, 0);
    });

    test("admin_new_address: an admin's first address is learned, a new one opens an incident; a user's new address does not", async () => {
      const from = (ip: string, username: string, password: string) => h.app.inject({ method: 'POST', url: '/api/auth/login', remoteAddress: ip, payload: { username, password } });
      assert.equal((await from('192.0.2.10', 'bob', PASSWORD)).statusCode, 200);
      assert.equal((await from('192.0.2.11', 'bob', PASSWORD)).statusCode, 200);
      assert.equal((await from('127.0.0.1', 'admin', ADMIN_PASSWORD)).statusCode, 200);
      await settle();
      assert.deepEqual(await incidents('admin_new_address'), [], 'known address (the first one was learned)');
      assert.equal((await from('192.0.2.50', 'admin', ADMIN_PASSWORD)).statusCode, 200);
      await settle();
      const [incident] = await incidents('admin_new_address');
      assert.equal(incident?.source_ip, '192.0.2.50');
      assert.equal(incident?.mitre, 'T1078');
      assert.equal((await from('192.0.2.50', 'admin', ADMIN_PASSWORD)).statusCode, 200);
      await settle();
      assert.equal((await incidents('admin_new_address'))[0]!.event_count, 1, 'the same address again is known now');
    });

    test('vm_churn: 10 VM creations and destructions by one user within 10 minutes', async () => {
      const churn = (code: 'vm.create' | 'vm.destroy', i: number) => h.services.events.record({ type: 'vm', action: code, message: `VM x${i}: done`, userId: bob.id, vmId: 1000 + i, details: { action_id: i } });
      for (let i = 0; i < 9; i++) await churn(i % 2 ? 'vm.destroy' : 'vm.create', i);
      await settle();
      assert.deepEqual(await incidents('vm_churn'), []);
      await churn('vm.create', 9);
      await settle();
      const [incident] = await incidents('vm_churn');
      assert.equal(incident?.user_id, bob.id);
      assert.equal(incident?.mitre, 'T1496');
      assert.equal((await incidents('vm_churn', bob.token)).length, 1);
    });

    test('terminal_host_key_changed: one event is a critical incident on the VM', async () => {
      await h.services.events.record({ type: 'security', severity: 'critical', action: 'terminal.host_key_changed', message: 'host key changed', userId: alice.id, vmId: vmB, sourceIp: '127.0.0.1', details: { seen: 'a', pinned: 'b' } });
      await settle();
      const [incident] = await incidents('terminal_host_key_changed');
      assert.equal(incident?.severity, 'critical');
      assert.equal(incident?.vm_id, vmB);
      assert.equal(incident?.mitre, 'T1557');
      assert.equal(incident?.user_id, alice.id);
    });
  });
}
