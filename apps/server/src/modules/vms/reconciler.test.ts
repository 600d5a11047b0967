import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { Updateable } from 'kysely';
import type { VmsTable } from '../../db/schema.js';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { FakeDriver } from '../../test-support/fake-driver.js';
import { createHarness, type Harness } from '../../test-support/harness.js';
import { HOUR_MS } from './vm-operations.js';

/**
 * What the reconciler does after a crash and on its periodic pass, with a fake driver: the
 * database is put in the state a crash leaves (a transitional status, a lock, an open action),
 * and the driver in what the hypervisor would really have.
 */
for (const kind of testDatabaseKinds()) {
  describe(`reconciler: crashes, drift and leftovers (${kind})`, () => {
    let h: Harness;
    let driver: FakeDriver;
    let alice: { id: number; token: string };
    before(async () => {
      driver = new FakeDriver();
      h = await createHarness(kind, { maxVmsPerUser: 20, sshPortRange: '25400-25499' }, driver);
      alice = await h.user('alice');
    });
    after(() => h.close());
    beforeEach(() => {
      driver.delayMs = 0;
      driver.failNext = undefined;
    });

    const db = () => h.db.handle.db;
    const settle = () => h.services.ops.idle();
    const getVm = async (id: number) => (await h.request({ method: 'GET', url: `/api/vms/${id}`, token: alice.token })).json();
    const act = (id: number, action: string) => h.request({ method: 'POST', url: `/api/vms/${id}/action`, token: alice.token, body: { action } });
    const credits = async () => (await h.request({ method: 'GET', url: '/api/auth/me', token: alice.token })).json().credits as number;
    const actionsOf = async (id: number) => (await h.request({ method: 'GET', url: `/api/vms/${id}/actions`, token: alice.token })).json() as { type: string; status: string; error: string | null }[];
    async function running(name: string) {
      const vm = (await h.request({ method: 'POST', url: '/api/vms', token: alice.token, body: { name } })).json();
      await settle();
      assert.equal((await getVm(vm.id)).status, 'running');
      return vm as { id: number; price_hourly: number };
    }
    /** What a kill -9 in the middle of an action leaves: its status, the lock, the action still open. */
    async function crashedDuring(id: number, type: string, patch: Updateable<VmsTable>) {
      await db().updateTable('vms').set({ locked: 1, ...patch }).where('id', '=', id).execute();
      await db().insertInto('actions').values({ vm_id: id, user_id: alice.id, type, status: 'in-progress', started_at: h.clock.now().toISOString(), completed_at: null, error: null }).execute();
    }
    const restart = async () => {
      await h.services.reconciler.recoverAfterRestart();
      await settle();
    };

    test('an interrupted destroy is finished after the restart: files, quota and billing end', async () => {
      const vm = await running('doomed');
      await crashedDuring(vm.id, 'destroy', { status: 'destroying' });
      const paid = await credits();
      await restart();
      const after = await getVm(vm.id);
      assert.equal(after.status, 'destroyed');
      assert.equal(after.locked, false);
      assert.equal(driver.instances.has(`vm-${vm.id}`), false, 'its instance is gone');
      const destroys = (await actionsOf(vm.id)).filter((a) => a.type === 'destroy');
      assert.deepEqual(destroys.map((a) => a.status), ['completed'], 'the same destroy action was carried on to its end');
      assert.ok(!(await h.request({ method: 'GET', url: '/api/vms', token: alice.token })).json().some((v: { id: number }) => v.id === vm.id), 'no longer counted');
      h.clock.advanceMinutes(300);
      await h.services.metering.pass();
      assert.equal(await credits(), paid, 'a destroyed VM is charged nothing more');
    });

    test('a create interrupted after its QEMU started is adopted as running, billed from its real start', async () => {
      const vm = await running('halfway');
      const startedAt = new Date(h.clock.now().getTime() - 10 * 60_000);
      driver.instances.get(`vm-${vm.id}`)!.startedAt = startedAt;
      await crashedDuring(vm.id, 'create', { status: 'provisioning', billed_until: null, booted_at: null });
      const paid = await credits();
      const calls = driver.calls.length;
      await restart();
      const after = await getVm(vm.id);
      assert.equal(after.status, 'running');
      assert.equal(after.booted_at, startedAt.toISOString());
      const row = await db().selectFrom('vms').select('billed_until').where('id', '=', vm.id).executeTakeFirstOrThrow();
      assert.equal(new Date(row.billed_until!).toISOString(), new Date(startedAt.getTime() + HOUR_MS).toISOString(), 'its first hour runs from its real start');
      assert.equal(await credits(), paid, 'the first hour paid at admission is not charged again');
      assert.deepEqual(driver.calls.slice(calls), [], 'nothing was created or started again');
      // 51 minutes later its second hour has begun (not 60 minutes after the adoption).
      h.clock.advanceMinutes(51);
      await h.services.metering.pass();
      assert.equal(await credits(), paid - vm.price_hourly);
      await act(vm.id, 'destroy');
      await settle();
    });

    test('a create interrupted before its QEMU started is run again to running', async () => {
      const vm = await running('again');
      driver.instances.delete(`vm-${vm.id}`);
      await crashedDuring(vm.id, 'create', { status: 'pending', billed_until: null, booted_at: null });
      await restart();
      assert.equal((await getVm(vm.id)).status, 'running');
      assert.equal(driver.instances.get(`vm-${vm.id}`)?.state, 'running');
      const [resumed] = await actionsOf(vm.id);
      assert.deepEqual([resumed!.type, resumed!.status], ['create', 'completed']);
      const row = await db().selectFrom('vms').select('billed_until').where('id', '=', vm.id).executeTakeFirstOrThrow();
      assert.ok(row.billed_until, 'billed once it runs');
      await act(vm.id, 'destroy');
      await settle();
    });

    test('an interrupted stop is carried on to stopped; a reboot whose VM lost its files ends in error', async () => {
      const a = await running('stop-done');
      const b = await running('stop-not-done');
      const c = await running('reboot-lost');
      driver.instances.get(`vm-${a.id}`)!.state = 'stopped';
      await crashedDuring(a.id, 'stop', { status: 'stopping' });
      await crashedDuring(b.id, 'stop', { status: 'stopping' });
      driver.instances.delete(`vm-${c.id}`);
      await crashedDuring(c.id, 'reboot', { status: 'rebooting' });
      await restart();
      assert.deepEqual([(await getVm(a.id)).status, (await getVm(b.id)).status, (await getVm(c.id)).status], ['stopped', 'stopped', 'error']);
      const outcomes = await Promise.all([a, b, c].map(async (vm) => (await actionsOf(vm.id))[0]!));
      assert.deepEqual(outcomes.map((x) => [x.type, x.status]), [['stop', 'completed'], ['stop', 'completed'], ['reboot', 'errored']], 'a stop is carried on; a reboot of a VM whose files are gone cannot be');
      assert.match(outcomes[2]!.error!, /interrupted/);
      for (const id of [a.id, b.id, c.id]) assert.equal((await getVm(id)).locked, false);
      // From error the owner can still act: destroy.
      assert.equal((await act(c.id, 'destroy')).statusCode, 202);
      await settle();
      assert.equal((await getVm(c.id)).status, 'destroyed');
      for (const id of [a.id, b.id]) await act(id, 'destroy');
      await settle();
    });

    test('a VM the database does not mark running but whose process runs is re-adopted', async () => {
      const vm = await running('adoptee');
      await db().updateTable('vms').set({ status: 'stopped', booted_at: null }).where('id', '=', vm.id).execute();
      await h.services.reconciler.pass();
      assert.equal((await getVm(vm.id)).status, 'running');
      assert.ok((await h.services.events.list({ action: 'vm.adopted' })).some((e) => e.vm_id === vm.id));
      await act(vm.id, 'destroy');
      await settle();
    });

    test('a running VM whose files vanished is marked error; orphans of no live VM are removed', async () => {
      const vm = await running('vanished');
      driver.instances.delete(`vm-${vm.id}`);
      const gone = await running('gone');
      await act(gone.id, 'destroy');
      await settle();
      // Leftovers: a destroyed VM's instance back on the host, and one no row knows.
      driver.instances.set(`vm-${gone.id}`, { spec: { id: `vm-${gone.id}` } as never, state: 'running' });
      driver.instances.set('vm-999999', { spec: { id: 'vm-999999' } as never, state: 'stopped' });
      await h.services.reconciler.pass();
      const after = await getVm(vm.id);
      assert.deepEqual([after.status, after.error], ['error', 'VM files are missing']);
      assert.equal(driver.instances.has(`vm-${gone.id}`), false);
      assert.equal(driver.instances.has('vm-999999'), false);
      assert.ok((await h.services.events.list({ action: 'vm.orphan_removed' })).length >= 2);
      await act(vm.id, 'destroy');
      await settle();
    });

    test('an action whose process stopped vouching for it is carried on once its lease runs out, never before', async () => {
      const vm = await running('leased');
      await db().updateTable('vms').set({ locked: 1, status: 'stopping', updated_at: h.clock.now().toISOString() }).where('id', '=', vm.id).execute();
      // Leases are wall-clock time: the other process vouches for 15 s from now.
      const lease = new Date(Date.now() + 15_000).toISOString();
      await db().insertInto('actions').values({ vm_id: vm.id, user_id: alice.id, type: 'stop', status: 'in-progress', started_at: h.clock.now().toISOString(), completed_at: null, error: null, runner: 'other-host:4242:abcdef', lease_expires_at: lease }).execute();
      h.clock.advanceMinutes(10);
      await h.services.reconciler.pass();
      await settle();
      assert.deepEqual([(await getVm(vm.id)).status, (await getVm(vm.id)).locked], ['stopping', true], 'its lease lasts: another process runs it');
      assert.equal((await act(vm.id, 'destroy')).statusCode, 409);
      // That process stops renewing: its lease runs out.
      await db().updateTable('actions').set({ lease_expires_at: new Date(Date.now() - 1).toISOString() }).where('vm_id', '=', vm.id).where('status', '=', 'in-progress').execute();
      await h.services.reconciler.pass();
      await settle();
      assert.deepEqual([(await getVm(vm.id)).status, (await getVm(vm.id)).locked], ['stopped', false]);
      const stops = (await actionsOf(vm.id)).filter((a) => a.type === 'stop');
      assert.deepEqual(stops.map((a) => a.status), ['completed'], 'the same action, carried on');
      const taken = (await h.services.events.list({ action: 'vm.action_taken_over' })).filter((e) => e.vm_id === vm.id);
      assert.equal(taken.length, 1);
      assert.equal((taken[0]!.details as { previous_runner: string }).previous_runner, 'other-host:4242:abcdef');
      await act(vm.id, 'destroy');
      await settle();
    });

    test('a lock no action holds (its last write failed) is released by the periodic pass, not a fresh one', async () => {
      const vm = await running('stale');
      await db().updateTable('vms').set({ locked: 1, updated_at: h.clock.now().toISOString() }).where('id', '=', vm.id).execute();
      // Fresh: it could be a request between taking the lock and starting its action.
      await h.services.reconciler.pass();
      assert.equal((await getVm(vm.id)).locked, true);
      const locked = await act(vm.id, 'destroy');
      assert.equal(locked.statusCode, 409);
      assert.match(locked.json().message, /another action is in progress/i);
      h.clock.advanceMinutes(1);
      await h.services.reconciler.pass();
      await settle();
      const after = await getVm(vm.id);
      assert.deepEqual([after.status, after.locked], ['running', false]);
      assert.ok((await h.services.events.list({ action: 'vm.lock_released' })).some((e) => e.vm_id === vm.id));
      await act(vm.id, 'destroy');
      await settle();
    });

    test('destroy is accepted from destroying once no action holds the lock', async () => {
      const vm = await running('stuck');
      await db().updateTable('vms').set({ status: 'destroying', locked: 0 }).where('id', '=', vm.id).execute();
      assert.equal((await act(vm.id, 'destroy')).statusCode, 202);
      await settle();
      assert.equal((await getVm(vm.id)).status, 'destroyed');
    });

    test('a guest its hypervisor paused is shown paused with the reason; it can be stopped; resumed, running again', async () => {
      const vm = await running('frozen');
      driver.pause(`vm-${vm.id}`, 'io-error');
      await h.services.reconciler.pass();
      const paused = await getVm(vm.id);
      assert.deepEqual([paused.status, paused.status_reason], ['paused', 'io-error']);
      const status = (await h.request({ method: 'GET', url: `/api/vms/${vm.id}/status`, token: alice.token })).json();
      assert.deepEqual([status.status, status.status_reason], ['paused', 'io-error']);
      assert.ok((await h.services.events.list({ action: 'vm.paused' })).some((e) => e.vm_id === vm.id));
      driver.pause(`vm-${vm.id}`, undefined);
      await h.services.reconciler.pass();
      assert.deepEqual([(await getVm(vm.id)).status, (await getVm(vm.id)).status_reason], ['running', null]);
      driver.pause(`vm-${vm.id}`, 'io-error');
      await h.services.reconciler.pass();
      assert.equal((await act(vm.id, 'stop')).statusCode, 202, 'a paused VM can be stopped');
      await settle();
      assert.deepEqual([(await getVm(vm.id)).status, (await getVm(vm.id)).status_reason], ['stopped', null]);
      await act(vm.id, 'destroy');
      await settle();
    });

    test('a database write failing in a background action (full disk) neither crashes the server nor strands the VM', async () => {
      const vm = await running('diskfull');
      // Every VM row write fails, as SQLite's do on a full disk, while the stop runs and fails.
      const repo = (h.services.ops as unknown as { d: { vms: { update: (...a: unknown[]) => Promise<unknown> } } }).d.vms;
      const update = repo.update;
      repo.update = async () => {
        throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
      };
      driver.failNext = { op: 'stop', message: 'guest did not answer' };
      try {
        assert.equal((await act(vm.id, 'stop')).statusCode, 202);
        await settle(); // on the old code: an unhandled rejection here ends the test process
      } finally {
        repo.update = update;
      }
      // The disk has room again: the periodic pass releases the lock and settles the VM.
      h.clock.advanceMinutes(1);
      await h.services.reconciler.pass();
      const after = await getVm(vm.id);
      assert.deepEqual([after.status, after.locked], ['running', false]);
      assert.equal((await act(vm.id, 'destroy')).statusCode, 202);
      await settle();
    });

    test("errors shown to the owner carry no server path; the admins' event keeps it", async () => {
      const vm = await running('eperm');
      await act(vm.id, 'stop');
      await settle();
      const secret = `${h.config.dataDir}/vms/vm-${vm.id}/disk.qcow2`;
      driver.failNext = { op: 'start', message: `EPERM: operation not permitted, open '${secret}'` };
      const start = (await act(vm.id, 'start')).json();
      await settle();
      const after = await getVm(vm.id);
      assert.equal(after.error, "EPERM: operation not permitted, open 'disk.qcow2'");
      const action = (await h.request({ method: 'GET', url: `/api/actions/${start.id}`, token: alice.token })).json();
      assert.equal(action.error, "EPERM: operation not permitted, open 'disk.qcow2'");
      const log = (await h.request({ method: 'GET', url: `/api/actions/${start.id}/log`, token: alice.token })).body;
      assert.ok(!log.includes(h.config.dataDir), log);
      const event = (await h.services.events.list({ action: 'vm.start_failed' })).find((e) => e.vm_id === vm.id)!;
      assert.ok(!event.message.includes(h.config.dataDir));
      assert.match(String(event.details.reason), new RegExp(secret.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      await act(vm.id, 'destroy');
      await settle();
    });

    test('a VM that never ran gets its first hour back when destroyed', async () => {
      const before = await credits();
      driver.delayMs = 200;
      const vm = (await h.request({ method: 'POST', url: '/api/vms', token: alice.token, body: { name: 'never' } })).json();
      assert.equal(await credits(), before - vm.price_hourly, 'the first hour is reserved at admission');
      await settle();
      driver.delayMs = 0;
      // The server died before it ran; the owner destroys what is left.
      driver.instances.delete(`vm-${vm.id}`);
      await db().updateTable('vms').set({ status: 'error', billed_until: null, booted_at: null, locked: 0 }).where('id', '=', vm.id).execute();
      assert.equal((await act(vm.id, 'destroy')).statusCode, 202);
      await settle();
      assert.equal(await credits(), before, 'refunded');
    });
  });
}
