import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SocBlock, SocIncident, SocIncidentDetail } from '@twarga/contract';
import { testDatabaseKinds } from '../../../test-support/databases.js';
import { FakeDriver } from '../../../test-support/fake-driver.js';
import { createHarness, type Harness } from '../../../test-support/harness.js';

/**
 * A brute force that goes on after its incident opened: the rule keeps firing (every 5 failures).
 * Its history gets "fired again" at most once a minute (with how many firings the note stands
 * for), the block that still holds is not made again, and once the block has expired the next
 * firing renews it, escalated, while the same incident keeps counting.
 */
for (const kind of testDatabaseKinds()) {
  describe(`a rule that keeps firing on its active incident (${kind})`, () => {
    let h: Harness;
    let admin: string;
    let alice: { id: number; token: string };
    let vm: number;
    let port = 41000;

    before(async () => {
      h = await createHarness(kind, { sshPortRange: '27150-27199' }, new FakeDriver());
      admin = await h.adminToken();
      alice = await h.user('alice');
      vm = await h.vm(alice, 'web');
    });
    after(() => h.close());

    const failures = async (ip: string, n: number) => {
      for (let i = 0; i < n; i++) {
        await h.services.events.record({
          type: 'security', severity: 'warning', action: 'ssh.login_failed', message: `Failed SSH login as 'root' on VM ${vm} from ${ip}`,
          userId: alice.id, vmId: vm, sourceIp: ip, details: { user: 'root', client_port: ++port, via: 'gateway', ours: false },
        });
      }
      await h.services.soc.detection.engine.idle();
    };
    const incident = async (ip: string) => {
      const list = ((await h.request({ method: 'GET', url: '/api/soc/incidents?limit=500', token: admin })).json() as SocIncident[]).filter((i) => i.rule_id === 'ssh_brute_force' && i.source_ip === ip);
      assert.equal(list.length, 1, 'one incident for the whole attack');
      return (await h.request({ method: 'GET', url: `/api/soc/incidents/${list[0]!.id}`, token: admin })).json() as SocIncidentDetail;
    };
    const blocks = async (ip: string) => ((await h.request({ method: 'GET', url: '/api/soc/blocks?limit=500', token: admin })).json() as SocBlock[]).filter((b) => b.address === ip).reverse();

    test('25 failures: one incident, one block, one "fired again" note for four firings; after expiry the next firing renews the block, doubled', async () => {
      const ip = '198.51.100.77';
      await failures(ip, 25);
      let detail = await incident(ip);
      assert.equal(detail.event_count, 25);
      assert.deepEqual(detail.history.map((e) => e.action), ['opened', 'blocked', 'event'], 'four re-firings within a minute: one note');
      assert.match(detail.history[2]!.comment!, /^The rule fired again: 5 matching events/);
      let list = await blocks(ip);
      assert.equal(list.length, 1, 'the block that holds is not made again');
      const added = (await h.services.events.list({ action: 'soc.block_added', limit: 500 })).filter((e) => e.source_ip === ip);
      assert.equal(added.length, 1);

      // Past the block (600 s) and the window: the attack goes on, the rule fires on the same incident.
      h.clock.advanceMinutes(11);
      assert.equal(h.services.soc.blocklist.blocksVm(ip, vm), false, 'expired');
      await failures(ip, 5);
      detail = await incident(ip);
      assert.equal(detail.event_count, 30);
      assert.deepEqual(detail.history.map((e) => e.action), ['opened', 'blocked', 'event', 'event', 'blocked']);
      assert.match(detail.history[3]!.comment!, /\(and 3 more times since the last note\)$/, 'the note says how many firings it stands for');
      list = await blocks(ip);
      assert.deepEqual(list.map((b) => [b.offence, (Date.parse(b.expires_at!) - Date.parse(b.created_at)) / 1000]), [[1, 600], [2, 1200]], 'renewed, escalated');
      assert.equal(h.services.soc.blocklist.blocksVm(ip, vm), true);
    });
  });
}
