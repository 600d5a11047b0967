import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { Snapshot, SnapshotList } from '@twarga/contract';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { FakeDriver } from '../../test-support/fake-driver.js';
import { createHarness, type Harness } from '../../test-support/harness.js';

/** Snapshots through the API, with the fake driver (the QEMU side runs in tests/integration). */
for (const kind of testDatabaseKinds()) {
  describe(`snapshots API (${kind})`, () => {
    let h: Harness;
    let driver: FakeDriver;
    let alice: { id: number; token: string };
    let bob: { id: number; token: string };
    let web: number;
    let db2: number;
    let bobVm: number;
    before(async () => {
      driver = new FakeDriver();
      h = await createHarness(kind, { maxSnapshotsPerUser: 3, snapshotPriceGbMonth: 10, maxVmsPerUser: 5, sshPortRange: '27430-27449' }, driver);
      alice = await h.user('alice');
      bob = await h.user('bob');
      web = await h.vm(alice, 'web');
      db2 = await h.vm(alice, 'db2');
      bobVm = await h.vm(bob, 'bobvm');
    });
    after(() => h.close());
    beforeEach(() => {
      driver.delayMs = 0;
    });

    const settle = () => h.services.ops.idle();
    const take = async (vmId: number, body: Record<string, unknown> = {}, token = alice.token) => {
      const res = await h.request({ method: 'POST', url: `/api/vms/${vmId}/snapshots`, token, body });
      await settle();
      return res;
    };
    const list = async (vmId: number, token = alice.token) => {
      const res = await h.request({ method: 'GET', url: `/api/vms/${vmId}/snapshots`, token });
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as SnapshotList;
    };
    const byName = async (name: string) => (await h.request({ method: 'GET', url: '/api/snapshots', token: alice.token })).json<SnapshotList>().snapshots.find((s) => s.name === name);
    const act = async (vmId: number, body: Record<string, unknown>, token = alice.token) => {
      const res = await h.request({ method: 'POST', url: `/api/vms/${vmId}/action`, token, body });
      await settle();
      return res;
    };
    const remove = (id: number, token = alice.token) => h.request({ method: 'DELETE', url: `/api/snapshots/${id}`, token });
    const diskOf = (vmId: number) => driver.instances.get(`vm-${vmId}`)!.disk!.content;

    test('a snapshot is listed with its size and monthly price, under a default name', async () => {
      const res = await take(web);
      assert.equal(res.statusCode, 202, res.body);
      assert.equal(res.json().type, 'snapshot');
      const { snapshots, used, limit, price_gb_month } = await list(web);
      assert.equal(snapshots.length, 1);
      const s = snapshots[0]!;
      assert.match(s.name, /^web-\d{8}-\d{6}$/);
      assert.equal(s.status, 'available');
      assert.equal(s.size_bytes, 1_500_000_000);
      assert.equal(s.size_gb, 2, '1.5 GB bills as 2 GB');
      assert.equal(s.price_monthly, 20);
      assert.equal(s.vm_id, web);
      assert.equal(s.quiesced, true, 'a running VM is frozen through its agent');
      assert.equal(s.memory, false);
      assert.deepEqual([used, limit, price_gb_month], [1, 3, 10]);
      assert.ok(driver.snapshots.has(`snap-${s.id}`));
      // Its action's log says what happened.
      const log = (await h.request({ method: 'GET', url: `/api/actions/${res.json().id}/log`, token: alice.token })).json();
      assert.ok(log.lines.some((l: { text?: string; line?: string }) => /saved: 1500\.0 MB, billed as 2 GB/.test(JSON.stringify(l))), JSON.stringify(log));
      // The same action through POST /api/vms/{id}/action, with a name.
      const named = await act(web, { action: 'snapshot', name: 'before-upgrade' });
      assert.equal(named.statusCode, 202, named.body);
      assert.equal((await byName('before-upgrade'))?.status, 'available');
      assert.deepEqual((await h.request({ method: 'GET', url: '/api/snapshots', token: alice.token })).json<SnapshotList>().snapshots.map((x) => x.name).slice(0, 2), ['before-upgrade', s.name], 'newest first');
    });

    test("the billing page's burn rate and runway count snapshot storage (its monthly price spread over the month's hours)", async () => {
      const billing = async () => (await h.request({ method: 'GET', url: '/api/account/billing', token: alice.token })).json() as { burn_rate_hourly: number; runway_hours: number | null };
      const vmsHourly = (await h.request({ method: 'GET', url: '/api/vms', token: alice.token })).json<{ price_hourly: number }[]>().reduce((t, v) => t + v.price_hourly, 0);
      const stored = (await h.request({ method: 'GET', url: '/api/snapshots', token: alice.token })).json<SnapshotList>().snapshots.filter((x) => x.status === 'available');
      const now = h.clock.now();
      const hoursThisMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 0)).getUTCDate() * 24;
      const storage = stored.reduce((t, x) => t + x.price_monthly, 0) / hoursThisMonth;
      assert.ok(storage > 0, 'alice keeps snapshots');
      assert.equal((await billing()).burn_rate_hourly, Math.round((vmsHourly + storage) * 100) / 100);
    });

    test('names: a clash is 409, a bad name 400', async () => {
      const again = await take(db2, { name: 'before-upgrade' });
      assert.equal(again.statusCode, 409, again.body);
      assert.match(again.json().message, /already have a snapshot named before-upgrade/);
      for (const name of ['../x', 'a b', '-x', 'x'.repeat(65), '']) {
        const bad = await take(db2, { name });
        assert.equal(bad.statusCode, 400, `${name}: ${bad.body}`);
        assert.equal(bad.json().details[0].field, 'name');
      }
      assert.equal((await list(db2)).snapshots.length, 0);
    });

    test('a snapshot with RAM needs a running VM (409), and saves the RAM of a running one', async () => {
      assert.equal((await act(db2, { action: 'stop' })).statusCode, 202);
      const res = await take(db2, { memory: true });
      assert.equal(res.statusCode, 409, res.body);
      assert.match(res.json().message, /needs a running VM; db2 is stopped/);
      assert.equal((await list(db2)).snapshots.length, 0, 'nothing kept of a refused snapshot');
      assert.equal((await h.request({ method: 'GET', url: `/api/vms/${db2}`, token: alice.token })).json().locked, false, 'the lock is released');
      assert.equal((await act(db2, { action: 'start' })).statusCode, 202);
    });

    test("another user's snapshots and VMs are 404 everywhere", async () => {
      const mine = (await byName('before-upgrade'))!;
      assert.equal((await h.request({ method: 'GET', url: `/api/snapshots/${mine.id}`, token: bob.token })).statusCode, 404);
      assert.equal((await remove(mine.id, bob.token)).statusCode, 404);
      assert.equal((await h.request({ method: 'GET', url: `/api/vms/${web}/snapshots`, token: bob.token })).statusCode, 404);
      assert.equal((await take(web, {}, bob.token)).statusCode, 404);
      const restore = await act(bobVm, { action: 'restore', snapshot_id: mine.id }, bob.token);
      assert.equal(restore.statusCode, 404, restore.body);
      const from = await h.request({ method: 'POST', url: '/api/vms', token: bob.token, body: { name: 'stolen', snapshot_id: mine.id } });
      assert.equal(from.statusCode, 404, from.body);
      assert.equal((await h.request({ method: 'GET', url: '/api/snapshots', token: bob.token })).json<SnapshotList>().snapshots.length, 0);
      // Another VM's snapshot (same owner) cannot be restored onto this one.
      const other = await act(db2, { action: 'restore', snapshot_id: mine.id });
      assert.equal(other.statusCode, 404, other.body);
      // A missing one is the same answer.
      assert.equal((await h.request({ method: 'GET', url: '/api/snapshots/999999', token: alice.token })).statusCode, 404);
    });

    test('a read-only token can list but not take or delete', async () => {
      const token = (await h.request({ method: 'POST', url: '/api/account/tokens', token: alice.token, body: { name: 'ro', scope: 'read' } })).json().token as string;
      assert.equal((await h.request({ method: 'GET', url: `/api/vms/${web}/snapshots`, token })).statusCode, 200);
      assert.equal((await take(web, {}, token)).statusCode, 403);
      const mine = (await byName('before-upgrade'))!;
      assert.equal((await remove(mine.id, token)).statusCode, 403);
      assert.equal((await byName('before-upgrade'))?.status, 'available');
    });

    test('the snapshot quota is 403; an admin override raises it', async () => {
      // alice keeps 2 of 3.
      assert.equal((await take(db2, { name: 'third' })).statusCode, 202);
      const over = await take(db2, { name: 'fourth' });
      assert.equal(over.statusCode, 403, over.body);
      assert.equal(over.json().code, 'quota_exceeded');
      assert.match(over.json().message, /at most 3 snapshots/);
      const admin = await h.adminToken();
      const patched = await h.request({ method: 'PATCH', url: `/api/admin/users/${alice.id}/quota`, token: admin, body: { max_snapshots: 4 } });
      assert.equal(patched.statusCode, 200, patched.body);
      assert.equal(patched.json().overrides.max_snapshots, 4);
      assert.equal(patched.json().effective.max_snapshots, 4);
      assert.equal(patched.json().usage.snapshots, 3);
      assert.equal((await take(db2, { name: 'fourth' })).statusCode, 202);
      assert.equal((await list(db2)).limit, 4);
      assert.equal((await take(db2, { name: 'fifth' })).statusCode, 403);
      // Back to the server-wide limit.
      const reset = await h.request({ method: 'PATCH', url: `/api/admin/users/${alice.id}/quota`, token: admin, body: { max_snapshots: null } });
      assert.equal(reset.json().effective.max_snapshots, 3);
    });

    test('delete: 204, gone from the lists and the host, quota slot free, event recorded', async () => {
      const s = (await byName('fourth'))!;
      assert.equal((await remove((await byName('third'))!.id)).statusCode, 204); // 3 kept of 3 after the reset
      const res = await remove(s.id);
      assert.equal(res.statusCode, 204, res.body);
      assert.equal(driver.snapshots.has(`snap-${s.id}`), false);
      assert.equal((await h.request({ method: 'GET', url: `/api/snapshots/${s.id}`, token: alice.token })).statusCode, 404);
      assert.equal(await byName('fourth'), undefined);
      assert.equal((await remove(s.id)).statusCode, 404, 'deleting again: already gone');
      const row = await h.db.handle.db.selectFrom('snapshots').select(['deleted_at']).where('id', '=', s.id).executeTakeFirstOrThrow();
      assert.ok(row.deleted_at, 'the row stays for its billing history');
      const events = await h.db.handle.db.selectFrom('events').select(['action', 'message']).where('action', '=', 'snapshot.deleted').execute();
      assert.ok(events.some((e) => e.message.includes('fourth')));
      assert.equal((await take(db2, { name: 'fourth' })).statusCode, 202, 'its name and slot are free again');
      assert.equal((await remove((await byName('fourth'))!.id)).statusCode, 204);
    });

    test('a snapshot being taken cannot be deleted (409)', async () => {
      driver.delayMs = 300;
      const res = await h.request({ method: 'POST', url: `/api/vms/${db2}/snapshots`, token: alice.token, body: { name: 'slow' } });
      assert.equal(res.statusCode, 202);
      const slow = (await byName('slow'))!;
      assert.equal(slow.status, 'creating');
      const del = await remove(slow.id);
      assert.equal(del.statusCode, 409, del.body);
      await settle();
      assert.equal((await byName('slow'))?.status, 'available');
      driver.delayMs = 0;
      assert.equal((await remove(slow.id)).statusCode, 204);
    });

    test('a failed snapshot is kept in error with its reason, files removed', async () => {
      driver.failNext = { op: 'createSnapshot', message: 'qemu-img: disk full' };
      const res = await take(db2, { name: 'broken' });
      assert.equal(res.statusCode, 202);
      const s = (await byName('broken'))!;
      assert.equal(s.status, 'error');
      assert.match(s.error ?? '', /disk full/);
      assert.equal(driver.snapshots.has(`snap-${s.id}`), false);
      const action = (await h.request({ method: 'GET', url: `/api/actions/${res.json().id}`, token: alice.token })).json();
      assert.equal(action.status, 'errored');
      assert.equal((await h.request({ method: 'GET', url: `/api/vms/${db2}`, token: alice.token })).json().status, 'running', 'the VM is as it was');
      assert.equal((await remove(s.id)).statusCode, 204);
    });

    test('restore: a disk snapshot brings the disk back and leaves the VM stopped; one with RAM leaves it running', async () => {
      driver.instances.get(`vm-${web}`)!.disk!.content = 'v1';
      assert.equal((await take(web, { name: 'v1' })).statusCode, 202);
      driver.instances.get(`vm-${web}`)!.disk!.content = 'v2';
      const v1 = (await byName('v1'))!;
      const res = await act(web, { action: 'restore', snapshot_id: v1.id });
      assert.equal(res.statusCode, 202, res.body);
      assert.equal(diskOf(web), 'v1');
      assert.equal((await h.request({ method: 'GET', url: `/api/vms/${web}`, token: alice.token })).json().status, 'stopped');

      assert.equal((await act(web, { action: 'start' })).statusCode, 202);
      driver.instances.get(`vm-${web}`)!.disk!.content = 'v3';
      assert.equal((await remove((await byName('before-upgrade'))!.id)).statusCode, 204); // room in the quota
      assert.equal((await take(web, { name: 'v3-ram', memory: true })).statusCode, 202);
      const ram = (await byName('v3-ram'))!;
      assert.equal(ram.memory, true);
      assert.equal(ram.size_bytes, 1_500_000_000 + 1024 * 1024 * 1024, 'the RAM state counts in its size');
      assert.equal((await act(web, { action: 'stop' })).statusCode, 202);
      const back = await act(web, { action: 'restore', snapshot_id: ram.id });
      assert.equal(back.statusCode, 202, back.body);
      assert.equal(diskOf(web), 'v3');
      assert.equal((await h.request({ method: 'GET', url: `/api/vms/${web}`, token: alice.token })).json().status, 'running');
    });

    test("a new VM made from a snapshot starts with its disk; the snapshot outlives its VM", async () => {
      const v1 = (await byName('v1'))!;
      const res = await h.request({ method: 'POST', url: '/api/vms', token: alice.token, body: { name: 'clone', snapshot_id: v1.id } });
      assert.equal(res.statusCode, 201, res.body);
      await settle();
      const clone = res.json().id as number;
      assert.equal(diskOf(clone), 'v1');
      assert.equal(driver.instances.get(`vm-${clone}`)!.spec.fromSnapshot, `snap-${v1.id}`);
      assert.equal((await act(web, { action: 'destroy' })).statusCode, 202);
      const kept = (await h.request({ method: 'GET', url: `/api/snapshots/${v1.id}`, token: alice.token })).json() as Snapshot;
      assert.equal(kept.status, 'available');
      assert.equal(kept.vm_id, null, 'no longer tied to the destroyed VM');
      assert.equal(kept.vm_name, 'web');
      assert.ok(driver.snapshots.has(`snap-${v1.id}`));
    });
  });

  describe(`snapshots where the host cannot keep them (${kind})`, () => {
    let h: Harness;
    let driver: FakeDriver;
    let alice: { id: number; token: string };
    let vm: number;
    before(async () => {
      driver = new FakeDriver();
      h = await createHarness(kind, { sshPortRange: '27450-27459' }, driver);
      alice = await h.user('alice');
      vm = await h.vm(alice, 'web');
    });
    after(() => h.close());

    test('no room on the host: 507 insufficient_storage, nothing kept', async () => {
      h.config.minFreeDiskMb = 10_000_000_000; // 10 TB to keep free: no snapshot fits
      const res = await h.request({ method: 'POST', url: `/api/vms/${vm}/snapshots`, token: alice.token, body: {} });
      assert.equal(res.statusCode, 507, res.body);
      assert.equal(res.json().code, 'insufficient_storage');
      assert.equal((await h.request({ method: 'GET', url: `/api/vms/${vm}/snapshots`, token: alice.token })).json().snapshots.length, 0);
    });

    test('a driver without snapshots: 409 not_supported naming the driver', async () => {
      (driver as unknown as { createSnapshot?: unknown }).createSnapshot = undefined;
      const res = await h.request({ method: 'POST', url: `/api/vms/${vm}/snapshots`, token: alice.token, body: {} });
      assert.equal(res.statusCode, 409, res.body);
      assert.equal(res.json().code, 'not_supported');
      assert.match(res.json().message, /fake driver/);
    });
  });
}
