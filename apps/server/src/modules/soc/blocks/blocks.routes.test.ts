import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Kysely } from 'kysely';
import type { SocBlock, SocIncident } from '@twarga/contract';
import type { Database } from '../../../db/schema.js';
import { testDatabaseKinds } from '../../../test-support/databases.js';
import { FakeDriver } from '../../../test-support/fake-driver.js';
import { createHarness, PASSWORD, type Harness } from '../../../test-support/harness.js';
import { createDetection } from '../detection/index.js';

const HOUR = 3600;

/** Blocks: escalation of repeat offenders, expiry, the in-memory blocklist, who may block what. */
for (const kind of testDatabaseKinds()) {
  describe(`SOC blocks (${kind})`, () => {
    let h: Harness;
    let admin: string;
    let alice: { id: number; token: string };
    let bob: { id: number; token: string };
    let aliceVm: number;
    let bobVm: number;

    before(async () => {
      h = await createHarness(kind, { sshPortRange: '27200-27249', blockMaxSeconds: 5 * HOUR, blockLookbackDays: 30 }, new FakeDriver());
      admin = await h.adminToken();
      alice = await h.user('alice');
      bob = await h.user('bob');
      aliceVm = await h.vm(alice, 'web');
      bobVm = await h.vm(bob, 'db');
    });
    after(() => h.close());

    /** After moving the clock past the sessions' lifetime. */
    const relogin = async () => {
      admin = await h.adminToken();
      for (const u of [alice, bob]) {
        const name = u === alice ? 'alice' : 'bob';
        u.token = (await h.request({ method: 'POST', url: '/api/auth/login', body: { username: name, password: PASSWORD } })).json().access_token;
      }
    };
    const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, token: string, body?: unknown) => h.request({ method, url, token, body });
    const blocklist = () => h.services.soc.blocklist;
    const seconds = (b: SocBlock) => (Date.parse(b.expires_at!) - Date.parse(b.created_at)) / 1000;

    test('a repeat offender: each new block of the address within the look-back doubles, capped at blockMaxSeconds; lifting is audited', async () => {
      const ip = '198.51.100.90';
      const durations: number[] = [];
      const offences: number[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await call('POST', '/api/soc/blocks', admin, { address: ip, scope: 'all_vms', duration_seconds: HOUR, reason: 'scanner' });
        assert.equal(res.statusCode, 201, res.body);
        const block = res.json() as SocBlock;
        durations.push(seconds(block));
        offences.push(block.offence);
        assert.equal(block.active, true);
        assert.equal(blocklist().blocksVm(ip, aliceVm), true);
        assert.equal(blocklist().blocksVm(ip, bobVm), true, 'all_vms: every VM');
        assert.equal(blocklist().blocksControlPlane(ip), false, 'not the control plane');
        assert.equal((await call('POST', '/api/soc/blocks', admin, { address: ip, scope: 'all_vms', duration_seconds: HOUR })).statusCode, 409, 'blocked there already');
        assert.equal((await call('DELETE', `/api/soc/blocks/${block.id}`, admin)).statusCode, 204);
        assert.equal(blocklist().blocksVm(ip, aliceVm), false, 'lifted: at once, in memory');
        assert.equal((await call('DELETE', `/api/soc/blocks/${block.id}`, admin)).statusCode, 409, 'lifted already');
      }
      assert.deepEqual(offences, [1, 2, 3, 4]);
      assert.deepEqual(durations, [HOUR, 2 * HOUR, 4 * HOUR, 5 * HOUR], 'doubled, then capped at 5 h');

      const audit = await h.services.events.list({ limit: 200 });
      const added = audit.filter((e) => e.action === 'soc.block_added' && e.source_ip === ip);
      const lifted = audit.filter((e) => e.action === 'soc.block_lifted' && e.source_ip === ip);
      assert.equal(added.length, 4);
      assert.equal(lifted.length, 4);
      assert.ok(added.every((e) => e.details.by_username === 'admin') && lifted.every((e) => e.details.by_username === 'admin'), 'who did it');

      // The look-back: blocks older than blockLookbackDays do not count.
      h.clock.advanceMinutes(31 * 24 * 60);
      await relogin();
      const fresh = (await call('POST', '/api/soc/blocks', admin, { address: `::ffff:${ip}`, scope: 'control_plane', duration_seconds: HOUR })).json() as SocBlock;
      assert.equal(fresh.address, ip, 'one spelling per address');
      assert.equal(fresh.offence, 1);
      assert.equal(seconds(fresh), HOUR);
      assert.equal(blocklist().blocksControlPlane(ip), true);
      assert.equal(blocklist().blocksControlPlane(`::ffff:${ip}`), true, 'an IPv4-mapped spelling of the address is the same address');
      await call('DELETE', `/api/soc/blocks/${fresh.id}`, admin);
    });

    test('expiry: the blocklist stops refusing by time alone; the periodic pass ends and audits it', async () => {
      const ip = '198.51.100.91';
      const block = (await call('POST', '/api/soc/blocks', alice.token, { address: ip, scope: 'vm', vm_id: aliceVm, duration_seconds: 600 })).json() as SocBlock;
      assert.equal(block.vm_id, aliceVm);
      assert.equal(block.created_by, alice.id);
      assert.equal(blocklist().blocksVm(ip, aliceVm), true);
      assert.equal(blocklist().blocksVm(ip, bobVm), false);
      h.clock.advanceMinutes(9);
      assert.equal(blocklist().blocksVm(ip, aliceVm), true);
      h.clock.advanceMinutes(2);
      assert.equal(blocklist().blocksVm(ip, aliceVm), false, 'expired: ignored before any sweep');
      assert.equal(await h.services.soc.detection.blocks.expire(), 1);
      const [listed] = (await call('GET', '/api/soc/blocks', alice.token)).json() as SocBlock[];
      assert.equal(listed!.id, block.id);
      assert.equal(listed!.active, false);
      assert.equal(listed!.lifted_by, null);
      assert.equal(listed!.lifted_at, listed!.expires_at);
      const expired = (await h.services.events.list({ action: 'soc.block_lifted', limit: 20 })).find((e) => e.details.block_id === block.id);
      assert.equal(expired?.details.expired, true);
      assert.equal(expired?.user_id, alice.id, "in the VM owner's feed");
      assert.equal(await h.services.soc.detection.blocks.expire(), 0, 'once');
    });

    test('the blocklist is loaded at start and answers without the database', async () => {
      const ip = '198.51.100.92';
      await call('POST', '/api/soc/blocks', admin, { address: ip, scope: 'vm', vm_id: bobVm, duration_seconds: 600 });
      await call('POST', '/api/soc/blocks', admin, { address: '2001:db8::7', scope: 'control_plane' });
      // A second detection part over the same database, as at a restart; then every database access throws.
      let cut = false;
      const db = new Proxy(h.db.handle.db as Kysely<Database>, {
        get(target, prop) {
          if (cut) throw new Error(`the database was used: ${String(prop)}`);
          const value = Reflect.get(target, prop) as unknown;
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const restarted = createDetection({
        db, events: h.services.events, vms: { find: async () => undefined }, notifier: { notify: async () => undefined }, clock: h.clock, log: h.app.log,
        policy: { blockMaxSeconds: 3600, blockLookbackDays: 30, notifyMinIntervalSeconds: 0 },
      });
      try {
        await restarted.load();
        cut = true;
        assert.equal(restarted.blocklist.blocksVm(ip, bobVm), true);
        assert.equal(restarted.blocklist.blocksVm(ip, aliceVm), false);
        assert.equal(restarted.blocklist.blocksControlPlane('2001:db8:0:0:0:0:0:7'), true, 'IPv6 in any spelling');
        assert.equal(restarted.blocklist.blocksControlPlane('2001:db8::8'), false);
        h.clock.advanceMinutes(11);
        assert.equal(restarted.blocklist.blocksVm(ip, bobVm), false, 'expired by time');
        assert.equal(restarted.blocklist.blocksControlPlane('2001:db8::7'), true, 'until lifted');
      } finally {
        cut = false;
        await restarted.close();
      }
    });

    test("users block, see and lift blocks on their own VMs only; other scopes are for admins; another user's block is 404", async () => {
      const ip = '198.51.100.93';
      let res = await call('POST', '/api/soc/blocks', alice.token, { address: ip, scope: 'all_vms' });
      assert.equal(res.statusCode, 403);
      res = await call('POST', '/api/soc/blocks', alice.token, { address: ip, scope: 'control_plane' });
      assert.equal(res.statusCode, 403);
      res = await call('POST', '/api/soc/blocks', alice.token, { address: ip, scope: 'vm', vm_id: bobVm });
      assert.equal(res.statusCode, 404, "bob's VM is not one of alice's");
      res = await call('POST', '/api/soc/blocks', alice.token, { address: 'not-an-ip', scope: 'vm', vm_id: aliceVm });
      assert.equal(res.statusCode, 400);
      res = await call('POST', '/api/soc/blocks', alice.token, { address: ip, scope: 'vm' });
      assert.equal(res.statusCode, 400, 'scope vm needs vm_id');
      res = await call('POST', '/api/soc/blocks', bob.token, { address: ip, scope: 'vm', vm_id: bobVm });
      assert.equal(res.statusCode, 201);
      const bobs = res.json() as SocBlock;
      for (const loopback of ['127.0.0.1', '::1', '::ffff:127.0.0.5']) {
        res = await call('POST', '/api/soc/blocks', admin, { address: loopback, scope: 'control_plane' });
        assert.equal(res.statusCode, 400, `${loopback} would lock the host out of the control plane`);
        assert.equal((res.json() as { details: { field: string }[] }).details[0]!.field, 'address');
      }
      const admins = (await call('POST', '/api/soc/blocks', admin, { address: ip, scope: 'all_vms', duration_seconds: 600 })).json() as SocBlock;

      const aliceSees = ((await call('GET', '/api/soc/blocks', alice.token)).json() as SocBlock[]).map((b) => b.id);
      assert.ok(!aliceSees.includes(bobs.id) && !aliceSees.includes(admins.id), 'neither bob’s nor the all-VM block');
      assert.ok(((await call('GET', '/api/soc/blocks', bob.token)).json() as SocBlock[]).some((b) => b.id === bobs.id));
      assert.ok(((await call('GET', '/api/soc/blocks?active=true', admin)).json() as SocBlock[]).some((b) => b.id === bobs.id));
      assert.equal((await call('DELETE', `/api/soc/blocks/${bobs.id}`, alice.token)).statusCode, 404);
      assert.equal((await call('DELETE', `/api/soc/blocks/${admins.id}`, bob.token)).statusCode, 404, 'an all-VM block is for admins');
      assert.equal(blocklist().blocksVm(ip, bobVm), true);
      assert.equal((await call('DELETE', `/api/soc/blocks/${bobs.id}`, bob.token)).statusCode, 204);
      assert.equal((await call('DELETE', `/api/soc/blocks/${admins.id}`, admin)).statusCode, 204);
      assert.equal(blocklist().blocksVm(ip, bobVm), false);
    });

    test("from an incident: the owner blocks its address on the incident's VM (not elsewhere), an admin anywhere; the block is in the incident's history", async () => {
      const ip = '198.51.100.94';
      for (let i = 0; i < 3; i++) {
        await h.services.events.record({ type: 'terminal', severity: 'critical', action: 'terminal.host_key_changed', message: 'changed', userId: alice.id, vmId: aliceVm, sourceIp: ip, details: { n: i } });
      }
      await h.services.soc.detection.engine.idle();
      const incident = ((await call('GET', '/api/soc/incidents', alice.token)).json() as SocIncident[]).find((i) => i.rule_id === 'terminal_host_key_changed')!;
      assert.equal(incident.source_ip, ip);
      let res = await call('POST', `/api/soc/incidents/${incident.id}/block`, alice.token, { scope: 'control_plane' });
      assert.equal(res.statusCode, 403);
      res = await call('POST', `/api/soc/incidents/${incident.id}/block`, alice.token, { scope: 'vm', duration_seconds: 600 });
      assert.equal(res.statusCode, 201, res.body);
      const block = res.json() as SocBlock;
      assert.deepEqual([block.address, block.vm_id, block.incident_id, block.rule_id], [ip, aliceVm, incident.id, 'terminal_host_key_changed']);
      assert.equal(blocklist().blocksVm(ip, aliceVm), true);
      res = await call('POST', `/api/soc/incidents/${incident.id}/block`, admin, { scope: 'control_plane' });
      assert.equal(res.statusCode, 201);
      assert.equal(blocklist().blocksControlPlane(ip), true);
      const detail = (await call('GET', `/api/soc/incidents/${incident.id}`, alice.token)).json();
      assert.deepEqual(detail.history.filter((e: { action: string }) => e.action === 'blocked').map((e: { actor_username: string }) => e.actor_username), ['alice', 'admin']);
    });
  });
}
