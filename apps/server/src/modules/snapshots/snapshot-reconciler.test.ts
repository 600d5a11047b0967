import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Db } from '../../db/database.js';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { FakeDriver } from '../../test-support/fake-driver.js';
import { createHarness, type Harness } from '../../test-support/harness.js';
import { CREATING_GRACE_MS } from './snapshot-reconciler.js';

/** The snapshot reconciler against the fake driver's snapshot files. */
for (const kind of testDatabaseKinds()) {
  describe(`snapshot reconciler (${kind})`, () => {
    let h: Harness;
    let db: Db;
    let driver: FakeDriver;
    let alice: { id: number; token: string };
    let vm: number;
    let hostId: number;
    before(async () => {
      driver = new FakeDriver();
      h = await createHarness(kind, { sshPortRange: '27460-27469' }, driver);
      db = h.db.handle.db;
      alice = await h.user('alice');
      vm = await h.vm(alice, 'web');
      hostId = (await db.selectFrom('vms').select('host_id').where('id', '=', vm).executeTakeFirstOrThrow()).host_id!;
    });
    after(() => h.close());

    /** A row in some status, with files on the host or not. */
    const insert = async (name: string, status: string, files: boolean, createdAt = h.clock.now().toISOString()) => {
      const { id } = await db
        .insertInto('snapshots')
        .values({ user_id: alice.id, vm_id: vm, vm_name: 'web', name, status, memory: 0, quiesced: 0, size_bytes: status === 'creating' ? 0 : 1000, image: 'tiny', os_type: 'linux', disk: 1, ram: 256, cpu: 1, driver: 'qemu', host_id: hostId, error: null, billed_until: null, created_at: createdAt, updated_at: createdAt, deleted_at: null })
        .returning('id')
        .executeTakeFirstOrThrow();
      if (files) driver.snapshots.set(`snap-${id}`, { instance: `vm-${vm}`, disk: { content: name, sizeGb: 1 }, memory: false, sizeBytes: 1000 });
      return id;
    };
    const row = (id: number) => db.selectFrom('snapshots').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    const eventsOf = (action: string) => db.selectFrom('events').select(['message']).where('action', '=', action).execute();

    test('each drift is settled, and recorded', async () => {
      const old = new Date(h.clock.now().getTime() - CREATING_GRACE_MS - 1000).toISOString();
      const stuck = await insert('stuck', 'creating', true, old);
      const fresh = await insert('fresh', 'creating', true);
      const deleting = await insert('deleting', 'deleting', true);
      const missing = await insert('missing', 'available', false);
      const fine = await insert('fine', 'available', true);
      driver.snapshots.set('snap-999999', { instance: 'vm-1', disk: { content: 'x', sizeGb: 1 }, memory: false, sizeBytes: 1 });

      await h.services.snapshotReconciler.pass();

      assert.equal((await row(stuck)).status, 'error', 'a creation no action runs any more fails');
      assert.match((await row(stuck)).error ?? '', /interrupted/);
      assert.equal(driver.snapshots.has(`snap-${stuck}`), false, 'its partial files are removed');
      assert.equal((await row(fresh)).status, 'creating', 'a creation just admitted is left to its action');
      assert.ok(driver.snapshots.has(`snap-${fresh}`));
      assert.ok((await row(deleting)).deleted_at, 'an interrupted deletion is finished');
      assert.equal(driver.snapshots.has(`snap-${deleting}`), false);
      assert.equal((await row(missing)).status, 'error');
      assert.ok((await eventsOf('snapshot.missing')).some((e) => e.message.includes('missing')));
      assert.equal((await row(fine)).status, 'available');
      assert.ok(driver.snapshots.has(`snap-${fine}`));
      assert.equal(driver.snapshots.has('snap-999999'), false, 'files with no snapshot row are removed');
      assert.ok((await eventsOf('snapshot.orphan_removed')).some((e) => e.message.includes('snap-999999')));

      // After a restart no action runs: every creation left over fails, however recent.
      await h.services.snapshotReconciler.recoverAfterRestart();
      assert.equal((await row(fresh)).status, 'error');
      assert.equal(driver.snapshots.has(`snap-${fresh}`), false);
    });

    test('a snapshot being taken by a running action is left alone', async () => {
      driver.delayMs = 200;
      const res = await h.request({ method: 'POST', url: `/api/vms/${vm}/snapshots`, token: alice.token, body: { name: 'live' } });
      assert.equal(res.statusCode, 202, res.body);
      h.clock.advanceMinutes(10); // old enough to look stuck, but its action runs
      await h.services.snapshotReconciler.pass();
      await h.services.ops.idle();
      driver.delayMs = 0;
      const live = await db.selectFrom('snapshots').selectAll().where('name', '=', 'live').executeTakeFirstOrThrow();
      assert.equal(live.status, 'available');
      assert.ok(driver.snapshots.has(`snap-${live.id}`));
      assert.ok(!(await eventsOf('vm.snapshot_failed')).some((e) => e.message.includes('Snapshot live ')), 'never marked interrupted');
    });

    test('a driver without snapshots is not swept', async () => {
      const plain = new FakeDriver();
      (plain as unknown as { createSnapshot?: unknown }).createSnapshot = undefined;
      const h2 = await createHarness(kind, { sshPortRange: '27470-27479' }, plain);
      try {
        const bob = await h2.user('bob');
        await h2.vm(bob, 'x');
        plain.snapshots.set('snap-4242', { instance: 'vm-1', disk: { content: 'x', sizeGb: 1 }, memory: false, sizeBytes: 1 });
        await h2.services.snapshotReconciler.pass();
        assert.ok(plain.snapshots.has('snap-4242'));
      } finally {
        await h2.close();
      }
    });
  });
}
