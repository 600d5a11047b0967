import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { User } from '@twarga/contract';
import { AppError } from '../../http/errors.js';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { FakeDriver } from '../../test-support/fake-driver.js';
import { createHarness, type Harness } from '../../test-support/harness.js';
import type { Identity } from '../auth/identity.js';
import { ColdMigrationService } from './cold-migration.js';
import { HostsRepository } from './hosts.repository.js';

/**
 * The rules of a cold migration, each a 409 that moves nothing. The copy itself (real libvirt,
 * two pools) is in compute/libvirt/cold-migration.test.ts; here every host has a fake driver.
 */
for (const kind of testDatabaseKinds()) {
  describe(`cold migration: what is refused (${kind})`, () => {
    let h: Harness;
    let admin: string;
    let migration: ColdMigrationService;
    let actor: Identity;
    const ids: Record<string, number> = {};
    let vmId: number;
    let alice: { id: number; token: string };
    const vmOf = async () => (await h.request({ method: 'GET', url: `/api/vms/${vmId}`, token: alice.token })).json();

    before(async () => {
      h = await createHarness(kind, { sshPortRange: '25600-25699', maxVmsPerUser: 20 }, new FakeDriver());
      admin = await h.adminToken();
      alice = await h.user('alice');
      vmId = await h.vm(alice, 'mover');
      const hosts = new HostsRepository(h.db.handle.db);
      migration = new ColdMigrationService({ hosts, drivers: h.services.drivers, vms: h.services.vms, events: h.services.events, clock: h.clock });
      actor = { user: { id: 1, username: 'admin' } as User, via: 'session', fromCookie: false, scope: 'write' } as unknown as Identity;
      const add = async (name: string, extra: Record<string, unknown> = {}) => {
        const res = await h.request({ method: 'POST', url: '/api/admin/hosts', token: admin, body: { name, driver: 'libvirt', uri: `qemu+ssh://root@${name}/system`, ram_mb: 4096, vcpus: 8, ...extra } });
        assert.equal(res.statusCode, 201, res.body);
        ids[name] = res.json().id;
      };
      await add('rack-a');
      await add('rack-off', { enabled: false });
      await add('rack-drain', { draining: true });
      await add('rack-tiny', { ram_mb: 128, vcpus: 1 });
      ids.local = (await h.request({ method: 'GET', url: '/api/admin/hosts', token: admin })).json()[0].id;
    });
    after(() => h.close());

    const refused = async (to: number, why: RegExp) => {
      const before = await vmOf();
      await assert.rejects(migration.migrate(actor, vmId, to, '127.0.0.1'), (e: AppError) => {
        assert.equal(e.statusCode, 409, e.message);
        assert.match(e.message, why);
        return true;
      });
      const after = await vmOf();
      assert.deepEqual([after.host_id, after.locked], [before.host_id, false], 'the VM stays where it was, unlocked');
    };

    test('a running VM is refused: only a stopped one can move', async () => {
      await refused(ids['rack-a']!, /it is running; only a stopped VM can be cold-migrated/);
    });

    test('once stopped: unknown, same, disabled, draining or full targets and other driver kinds are refused', async () => {
      const stop = await h.request({ method: 'POST', url: `/api/vms/${vmId}/action`, token: alice.token, body: { action: 'stop' } });
      assert.ok([200, 201, 202].includes(stop.statusCode), stop.body);
      for (let i = 0; i < 100; i++) {
        const vm = await vmOf();
        if (vm.status === 'stopped' && !vm.locked) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await refused(9999, /there is no compute host #9999/);
      await refused(ids.local!, /already on local/);
      // The VM is on this machine's qemu host: its files are not libvirt volumes.
      await refused(ids['rack-a']!, /qemu → libvirt is not supported/);
      // Put it on a libvirt host (as a placement would) to reach the target's own rules.
      await h.db.handle.db.updateTable('vms').set({ host_id: ids['rack-a']! }).where('id', '=', vmId).execute();
      await refused(ids['rack-off']!, /rack-off takes no new VMs \(disabled\)/);
      await refused(ids['rack-drain']!, /rack-drain takes no new VMs \(draining\)/);
      await refused(ids['rack-tiny']!, /rack-tiny has no room for/);
      await refused(ids.local!, /libvirt → qemu is not supported/);
    });

    test('a move is the VM\'s migrate action: the owner sees it, it holds the lock past the stale-lock age, and ends completed', async () => {
      let copied!: () => void;
      const copying = new Promise<void>((resolve) => (copied = resolve));
      const by = { userId: 1, username: 'admin', sourceIp: '127.0.0.1', message: 'admin asked to migrate VM mover' };
      // A copy that takes minutes (real volumes over SSH): the work waits until the test lets it go.
      const action = await h.services.vms.move(vmId, by, async (_current, step) => ({
        work: async () => {
          step('copying the volumes');
          await copying;
        },
      }));
      assert.deepEqual([action.type, action.status, action.vm_id], ['migrate', 'in-progress', vmId]);
      h.clock.advanceMinutes(5);
      await h.services.reconciler.pass();
      assert.equal((await vmOf()).locked, true, 'the reconciler leaves a lock its live action holds');
      const start = await h.request({ method: 'POST', url: `/api/vms/${vmId}/action`, token: alice.token, body: { action: 'start' } });
      assert.equal(start.statusCode, 409, 'the owner cannot start it while it moves');
      const seen = await h.request({ method: 'GET', url: `/api/actions/${action.id}`, token: alice.token });
      assert.deepEqual([seen.statusCode, seen.json().type], [200, 'migrate'], 'the owner sees the move in their actions');
      copied();
      await h.services.ops.idle();
      const done = (await h.request({ method: 'GET', url: `/api/actions/${action.id}`, token: alice.token })).json();
      assert.equal(done.status, 'completed');
      const log = (await h.request({ method: 'GET', url: `/api/actions/${action.id}/log`, token: alice.token })).json();
      assert.ok(JSON.stringify(log).includes('copying the volumes'), JSON.stringify(log));
      assert.deepEqual([(await vmOf()).status, (await vmOf()).locked], ['stopped', false]);
    });
  });
}
