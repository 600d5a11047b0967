import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { createHarness, type Harness } from '../../test-support/harness.js';
import { FakeDriver } from '../../test-support/fake-driver.js';
import { AbleDriver, KEY, baseOnly, expect4xx, helpers, type User } from '../../test-support/vm-actions-kit.js';

for (const kind of testDatabaseKinds()) {
  describe(`VM maintenance actions: resize, rebuild, snapshot, restore (${kind})`, () => {
    let h: Harness;
    let driver: AbleDriver;
    let alice: User;
    let bob: User;
    let keyId: number;
    const t = helpers(() => h);
    before(async () => {
      driver = new AbleDriver();
      h = await createHarness(kind, { maxVmsPerUser: 10, maxRamPerUserMb: 3072, maxDiskGbPerUser: 100, sshPortRange: '25600-25699' }, driver);
      alice = await h.user('alice');
      bob = await h.user('bob');
      await t.credit(alice, 10_000);
      await t.credit(bob, 10_000);
      keyId = (await h.request({ method: 'POST', url: '/api/account/keys', token: alice.token, body: { name: 'k', public_key: KEY } })).json().id;
    });
    after(() => h.close());
    beforeEach(() => {
      driver.delayMs = 0;
    });

    test('resize: only while stopped (409 says stop it first), never a smaller disk or no change (400), within quota (403)', async () => {
      const vm = await t.create(alice, { name: 'grow', size: 's-1vcpu-1gb' });
      const running = await t.act(vm.id, { action: 'resize', size: 's-2vcpu-2gb' }, alice.token);
      expect4xx(running, 409, 'conflict');
      assert.match(running.json().message, /stop it first/);
      await t.act(vm.id, { action: 'stop' }, alice.token);
      await t.settle();
      expect4xx(await t.act(vm.id, { action: 'resize', disk: 5 }, alice.token), 400, 'validation_failed', 'disk');
      expect4xx(await t.act(vm.id, { action: 'resize', size: 's-1vcpu-512mb' }, alice.token), 400, 'validation_failed', 'disk');
      expect4xx(await t.act(vm.id, { action: 'resize', size: 's-1vcpu-1gb' }, alice.token), 400, 'validation_failed');
      expect4xx(await t.act(vm.id, { action: 'resize' }, alice.token), 400, 'validation_failed', 'size');
      expect4xx(await t.act(vm.id, { action: 'resize', ram: 100_000 }, alice.token), 400, 'validation_failed', 'ram');
      // 3072 MB of RAM per user: 4096 for this one VM is over it.
      const over = await t.act(vm.id, { action: 'resize', size: 's-2vcpu-4gb' }, alice.token);
      expect4xx(over, 403, 'quota_exceeded');
      assert.match(over.json().message, /3072 MB/);
      assert.deepEqual(driver.resized, [], 'nothing was resized');
      const after = await t.getVm(vm.id, alice.token);
      assert.deepEqual([after.ram, after.cpu, after.disk, after.locked], [1024, 1, 10, false], 'unchanged and unlocked');
      await t.act(vm.id, { action: 'destroy' }, alice.token);
      await t.settle();
    });

    test('resize: a launch admitted while a resize runs counts the resize at its new shape (403 over the RAM quota)', async () => {
      const vm = await t.stopped(alice, 'racer');
      driver.delayMs = 300;
      assert.equal((await t.act(vm.id, { action: 'resize', ram: 2560 }, alice.token)).statusCode, 202);
      // 2560 MB (being resized to) + 1024 MB > 3072 MB, although the row still says 1024 MB.
      const launch = await h.request({ method: 'POST', url: '/api/vms', token: alice.token, body: { name: 'racer-2', size: 's-1vcpu-1gb' } });
      expect4xx(launch, 403, 'quota_exceeded');
      await t.settle();
      driver.delayMs = 0;
      assert.equal((await t.getVm(vm.id, alice.token)).ram, 2560);
      await t.act(vm.id, { action: 'destroy' }, alice.token);
      await t.settle();
    });

    test("resize: the host's RAM and vCPUs must have room (409 no_capacity)", async () => {
      const vm = await t.stopped(alice, 'roomy');
      const resizes = driver.resized.length;
      const hostId = (await t.row(vm.id)).host_id!;
      await h.db.handle.db.updateTable('compute_hosts').set({ ram_mb: 1536 }).where('id', '=', hostId).execute();
      try {
        const full = await t.act(vm.id, { action: 'resize', ram: 2048 }, alice.token);
        expect4xx(full, 409, 'no_capacity');
        assert.match(full.json().message, /no room for 2048 MB RAM/);
      } finally {
        await h.db.handle.db.updateTable('compute_hosts').set({ ram_mb: 1_000_000 }).where('id', '=', hostId).execute();
      }
      assert.equal(driver.resized.length, resizes, 'nothing was resized');
      await t.act(vm.id, { action: 'destroy' }, alice.token);
      await t.settle();
    });

    test('resize: the driver gets the new shape; the VM is priced at it from the next hour, the hour under way stays paid at the old price', async () => {
      const vm = await t.stopped(alice, 'bigger');
      const credits = async () => (await h.request({ method: 'GET', url: '/api/auth/me', token: alice.token })).json().credits as number;
      const before = await credits();
      const res = await t.act(vm.id, { action: 'resize', size: 's-2vcpu-2gb' }, alice.token);
      assert.equal(res.statusCode, 202, res.body);
      assert.equal(res.json().type, 'resize');
      await t.settle();
      assert.deepEqual(driver.resized.at(-1), { id: `vm-${vm.id}`, to: { memoryMb: 2048, vcpus: 2, diskGb: 20 } });
      const after = await t.getVm(vm.id, alice.token);
      assert.deepEqual([after.status, after.size, after.ram, after.cpu, after.disk, after.price_hourly, after.locked], ['stopped', 's-2vcpu-2gb', 2048, 2, 20, 10, false]);
      const lines = await t.log(res.json().id, alice.token);
      assert.deepEqual(lines, [
        'Resizing from 1024 MB RAM, 1 vCPU, 10 GB disk to 2048 MB RAM, 2 vCPU, 20 GB disk',
        'Disk grown to 20 GB: the guest grows its data filesystem at its next boot',
        'Resized; priced at 10 credits/hour from the next hour (was 4)',
      ]);
      assert.equal(await credits(), before, 'nothing charged for the hour under way');
      h.clock.advanceMinutes(61);
      await h.services.metering.pass();
      assert.equal(await credits(), before - 10, 'the next hour at the new price');
      assert.ok((await h.services.events.list({ action: 'vm.resize' })).some((e) => e.vm_id === vm.id));
      assert.ok((await h.services.events.list({ action: 'vm.resize_requested' })).some((e) => e.vm_id === vm.id && /to s-2vcpu-2gb/.test(e.message)));
      // Custom: only RAM; the rest stays, the size slug goes.
      assert.equal((await t.act(vm.id, { action: 'resize', ram: 2560 }, alice.token)).statusCode, 202);
      await t.settle();
      const custom = await t.getVm(vm.id, alice.token);
      assert.deepEqual([custom.size, custom.ram, custom.cpu, custom.disk], [null, 2560, 2, 20]);
      await t.act(vm.id, { action: 'destroy' }, alice.token);
      await t.settle();
    });

    test('rebuild: confirm must be the name (400), the VM stopped (409); the disk is new, the id, port and keys the same', async () => {
      const vm = await t.create(alice, { name: 'reborn', size: 's-1vcpu-1gb', ssh_keys: [keyId] });
      for (const confirm of [undefined, 'REBORN', 'reborn ', 'other']) {
        const res = await t.act(vm.id, { action: 'rebuild', ...(confirm === undefined ? {} : { confirm }) }, alice.token);
        expect4xx(res, 400, 'validation_failed', 'confirm');
        assert.match(res.json().message, /disk and everything on \/data will be wiped/);
      }
      const running = await t.act(vm.id, { action: 'rebuild', confirm: 'reborn' }, alice.token);
      expect4xx(running, 409, 'conflict');
      assert.match(running.json().message, /stop it first/);
      await t.act(vm.id, { action: 'stop' }, alice.token);
      await t.settle();
      expect4xx(await t.act(vm.id, { action: 'rebuild', confirm: 'reborn', image: 'nope' }, alice.token), 400, 'validation_failed', 'image');
      // The browser terminal had pinned the guest's host key; the new disk brings a new one.
      await h.db.handle.db.updateTable('vm_console_keys').set({ host_key_sha256: 'old-host-key' }).where('vm_id', '=', vm.id).execute();
      const res = await t.act(vm.id, { action: 'rebuild', confirm: 'reborn' }, alice.token);
      assert.equal(res.statusCode, 202, res.body);
      await t.settle();
      const pin = await h.db.handle.db.selectFrom('vm_console_keys').select('host_key_sha256').where('vm_id', '=', vm.id).executeTakeFirstOrThrow();
      assert.equal(pin.host_key_sha256, null, 'the terminal pins the new host key on its next connection');
      const spec = driver.rebuilt.at(-1)!;
      assert.equal(spec.id, `vm-${vm.id}`);
      assert.equal(spec.sshPort, vm.ssh_port, 'same SSH port');
      assert.equal(spec.boot.kind, 'kernel', "the VM's own image (tiny)");
      assert.equal(spec.fromSnapshot, undefined);
      assert.ok(spec.seed.userData.includes(KEY), "the user's key");
      assert.match(spec.seed.userData, /twarga-console@reborn/, "the server's console key");
      const after = await t.getVm(vm.id, alice.token);
      assert.deepEqual([after.id, after.status, after.ssh_port, after.image, after.locked], [vm.id, 'stopped', vm.ssh_port, 'tiny', false]);
      assert.deepEqual(await t.log(res.json().id, alice.token), [
        'Rebuilding from image tiny: the 10 GB disk and all data on it are wiped',
        'Rebuilt from tiny: a fresh 10 GB disk; same SSH port and keys; start the VM to boot it',
      ]);
      assert.ok((await h.services.events.list({ action: 'vm.rebuild' })).some((e) => e.vm_id === vm.id));
      assert.equal((await t.act(vm.id, { action: 'start' }, alice.token)).statusCode, 202);
      await t.settle();
      assert.equal((await t.getVm(vm.id, alice.token)).status, 'running');
      await t.act(vm.id, { action: 'destroy' }, alice.token);
      await t.settle();
    });

    test('snapshot and restore are actions; a restore while another action runs is a 409; a disk restore leaves the VM stopped', async () => {
      const vm = await t.create(alice, { name: 'snappy', size: 's-1vcpu-1gb' });
      const snap = await t.act(vm.id, { action: 'snapshot', name: 'before' }, alice.token);
      assert.equal(snap.statusCode, 202, snap.body);
      await t.settle();
      assert.equal((await t.getVm(vm.id, alice.token)).status, 'running', 'a snapshot keeps the VM running');
      const list = (await h.request({ method: 'GET', url: `/api/vms/${vm.id}/snapshots`, token: alice.token })).json();
      const snapshot = list.snapshots.find((s: { name: string }) => s.name === 'before');
      assert.equal(snapshot.status, 'available');
      assert.ok((await t.log(snap.json().id, alice.token)).some((l) => /before/.test(l)));

      driver.delayMs = 200;
      assert.equal((await t.act(vm.id, { action: 'stop' }, alice.token)).statusCode, 202);
      const busy = await t.act(vm.id, { action: 'restore', snapshot_id: snapshot.id }, alice.token);
      expect4xx(busy, 409, 'conflict');
      assert.match(busy.json().message, /another action is in progress/i);
      await t.settle();
      driver.delayMs = 0;
      await t.act(vm.id, { action: 'start' }, alice.token);
      await t.settle();

      expect4xx(await t.act(vm.id, { action: 'restore' }, alice.token), 400, 'validation_failed', 'snapshot_id');
      const restore = await t.act(vm.id, { action: 'restore', snapshot_id: snapshot.id }, alice.token);
      assert.equal(restore.statusCode, 202, restore.body);
      await t.settle();
      const after = await t.getVm(vm.id, alice.token);
      assert.deepEqual([after.status, after.locked], ['stopped', false]);
      assert.equal((await t.log(restore.json().id, alice.token)).at(-1), 'Stopped with the disk of snapshot before: start the VM to boot it');
      assert.ok((await h.services.events.list({ action: 'vm.restore' })).some((e) => e.vm_id === vm.id));

      // With RAM: the VM runs again from the saved state, whatever it is when restored.
      await t.act(vm.id, { action: 'start' }, alice.token);
      await t.settle();
      await t.act(vm.id, { action: 'snapshot', name: 'live', memory: true }, alice.token);
      await t.settle();
      const live = (await h.request({ method: 'GET', url: `/api/vms/${vm.id}/snapshots`, token: alice.token })).json().snapshots.find((s: { name: string }) => s.name === 'live');
      assert.equal(live.memory, true);
      await t.act(vm.id, { action: 'stop' }, alice.token);
      await t.settle();
      const resume = await t.act(vm.id, { action: 'restore', snapshot_id: live.id }, alice.token);
      assert.equal(resume.statusCode, 202, resume.body);
      await t.settle();
      const resumed = await t.getVm(vm.id, alice.token);
      assert.deepEqual([resumed.status, resumed.locked], ['running', false]);
      assert.match((await t.log(resume.json().id, alice.token)).at(-1)!, /^Running from snapshot live; SSH on port \d+$/);
      await t.act(vm.id, { action: 'destroy' }, alice.token);
      await t.settle();
    });

    test("another user's snapshot is a 404 for a restore and for a new VM; one's own makes a VM with its image and disk", async () => {
      const vm = await t.create(alice, { name: 'source', size: 's-1vcpu-1gb' });
      await t.act(vm.id, { action: 'snapshot', name: 'gold' }, alice.token);
      await t.settle();
      const snapshot = (await h.request({ method: 'GET', url: `/api/vms/${vm.id}/snapshots`, token: alice.token })).json().snapshots[0];
      const bobs = await t.create(bob, { name: 'bobs', size: 's-1vcpu-1gb' });
      expect4xx(await t.act(bobs.id, { action: 'restore', snapshot_id: snapshot.id }, bob.token), 404, 'not_found');
      expect4xx(await h.request({ method: 'POST', url: '/api/vms', token: bob.token, body: { name: 'thief', snapshot_id: snapshot.id } }), 404, 'not_found');
      // Alice's own snapshot but another of her VMs: not that VM's snapshot.
      const other = await t.create(alice, { name: 'other', size: 's-1vcpu-1gb' });
      expect4xx(await t.act(other.id, { action: 'restore', snapshot_id: snapshot.id }, alice.token), 404, 'not_found');

      expect4xx(await h.request({ method: 'POST', url: '/api/vms', token: alice.token, body: { name: 'clone', snapshot_id: snapshot.id, image: 'tiny' } }), 400, 'validation_failed', 'image');
      expect4xx(await h.request({ method: 'POST', url: '/api/vms', token: alice.token, body: { name: 'clone', snapshot_id: snapshot.id, disk: 5 } }), 400, 'validation_failed', 'disk');
      const clone = await t.create(alice, { name: 'clone', snapshot_id: snapshot.id });
      const cloned = await t.getVm(clone.id, alice.token);
      assert.deepEqual([cloned.status, cloned.image, cloned.os_type, cloned.ram, cloned.disk, cloned.size], ['running', 'tiny', 'tiny', 1024, 10, 's-1vcpu-1gb']);
      const r = await t.row(clone.id);
      assert.equal(r.snapshot_id, snapshot.id);
      assert.equal(r.host_id, (await t.row(vm.id)).host_id, "placed on the snapshot's host");
      const spec = driver.instances.get(`vm-${clone.id}`)!.spec;
      assert.equal(spec.fromSnapshot, `snap-${snapshot.id}`);
      assert.equal(spec.hostname, 'clone', 'its own identity');
      assert.match(spec.seed.metaData, new RegExp(`vm-${clone.id}`));
      const log = await t.log(clone.action.id, alice.token);
      assert.match(log[0]!, new RegExp(`snapshot #${snapshot.id} \\(image tiny\\)`));

      // The source VM's destroy leaves its snapshot, detached.
      await t.act(vm.id, { action: 'destroy' }, alice.token);
      await t.settle();
      const kept = (await h.request({ method: 'GET', url: `/api/snapshots/${snapshot.id}`, token: alice.token })).json();
      assert.deepEqual([kept.vm_id, kept.status], [null, 'available']);
      for (const [id, token] of [[bobs.id, bob.token], [other.id, alice.token], [clone.id, alice.token]] as const) await t.act(id, { action: 'destroy' }, token);
      await t.settle();
    });

    test('a crash during a resize, rebuild, snapshot or restore is settled by the reconciler: unlocked, status as the hypervisor says', async () => {
      const db = () => h.db.handle.db;
      const crashedDuring = async (id: number, type: string, status: string) => {
        await db().updateTable('vms').set({ locked: 1, status }).where('id', '=', id).execute();
        await db().insertInto('actions').values({ vm_id: id, user_id: alice.id, type, status: 'in-progress', started_at: h.clock.now().toISOString(), completed_at: null, error: null }).execute();
      };
      const small = { size: 's-1vcpu-512mb' };
      const resized = await t.stopped(alice, 'crash-resize', small);
      const rebuilt = await t.stopped(alice, 'crash-rebuild', small);
      const snapped = await t.create(alice, { name: 'crash-snap', ...small });
      const restored = await t.create(alice, { name: 'crash-restore', ...small });
      await crashedDuring(resized.id, 'resize', 'stopped');
      await crashedDuring(rebuilt.id, 'rebuild', 'stopped');
      await crashedDuring(snapped.id, 'snapshot', 'running');
      // A disk restore had powered the VM off (stopping) when the server died.
      driver.instances.get(`vm-${restored.id}`)!.state = 'stopped';
      await crashedDuring(restored.id, 'restore', 'stopping');
      await h.services.reconciler.recoverAfterRestart();
      await t.settle();
      const expected: [number, string][] = [[resized.id, 'stopped'], [rebuilt.id, 'stopped'], [snapped.id, 'running'], [restored.id, 'stopped']];
      for (const [id, status] of expected) {
        const vm = await t.getVm(id, alice.token);
        assert.deepEqual([vm.status, vm.locked], [status, false], `VM ${id}`);
        const [last] = (await h.request({ method: 'GET', url: `/api/vms/${id}/actions`, token: alice.token })).json();
        assert.deepEqual([last.status, /interrupted/.test(last.error)], ['errored', true]);
        assert.equal((await t.act(id, { action: 'destroy' }, alice.token)).statusCode, 202, 'the owner can act on it again');
      }
      await t.settle();
    });
  });

  describe(`resize: room on the data dir for the disk's growth (${kind})`, () => {
    let h: Harness;
    let driver: AbleDriver;
    let alice: User;
    const t = helpers(() => h);
    before(async () => {
      // Keep free all but 15 GB of what the test data dir's filesystem has now.
      const { freeBytes, GiB, MiB } = await import('../../lib/disk-space.js');
      const { tmpdir } = await import('node:os');
      const minFreeDiskMb = Math.floor(((await freeBytes(tmpdir())) - 15 * GiB) / MiB);
      assert.ok(minFreeDiskMb > 0, 'the test needs more than 15 GB free in the temp dir');
      driver = new AbleDriver();
      h = await createHarness(kind, { minFreeDiskMb, maxDiskGbPerUser: 200, sshPortRange: '25850-25899' }, driver);
      alice = await h.user('alice');
      await t.credit(alice, 1000);
    });
    after(() => h.close());

    test('growth counts at its full size on top of every disk: 10 GB to 20 GB does not fit in 15 GB (507), 10 to 12 GB does', async () => {
      const vm = await t.stopped(alice, 'growing');
      const disk = await t.act(vm.id, { action: 'resize', disk: 20 }, alice.token);
      expect4xx(disk, 507, 'insufficient_storage');
      assert.match(disk.json().message, /no room for 10 GB more of disk/);
      assert.doesNotMatch(disk.json().message, /\/tmp|twarga-test/, 'no server paths for users');
      assert.deepEqual(driver.resized, []);
      assert.equal((await t.act(vm.id, { action: 'resize', disk: 12 }, alice.token)).statusCode, 202);
      await t.settle();
      assert.equal((await t.getVm(vm.id, alice.token)).disk, 12);
    });
  });

  describe(`VM maintenance on a driver without the abilities (${kind})`, () => {
    let h: Harness;
    let alice: User;
    const t = helpers(() => h);
    before(async () => {
      h = await createHarness(kind, { sshPortRange: '25700-25749' }, baseOnly(new FakeDriver()));
      alice = await h.user('alice');
      await t.credit(alice, 1000);
    });
    after(() => h.close());

    test('resize and rebuild are 409 not_supported, and nothing changes', async () => {
      const vm = await t.stopped(alice, 'plain');
      expect4xx(await t.act(vm.id, { action: 'resize', size: 's-2vcpu-2gb' }, alice.token), 409, 'not_supported');
      expect4xx(await t.act(vm.id, { action: 'rebuild', confirm: 'plain' }, alice.token), 409, 'not_supported');
      const after = await t.getVm(vm.id, alice.token);
      assert.deepEqual([after.ram, after.locked], [1024, false]);
    });
  });
}
