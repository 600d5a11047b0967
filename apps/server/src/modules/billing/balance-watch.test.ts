import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { FakeDriver } from '../../test-support/fake-driver.js';
import { createHarness, type Harness } from '../../test-support/harness.js';
import { Receiver } from '../../test-support/notification-sinks.js';
import type { Notifier } from '../notifications/notification.js';
import { BalanceWatch } from './balance-watch.js';
import { BillingRepository } from './billing.repository.js';
import { setClock } from '../../test-support/billing.js';

for (const kind of testDatabaseKinds()) {
  describe(`low balance: warnings, grace, suspension, restore (${kind})`, () => {
    let h: Harness;
    let admin: string;
    const receiver = new Receiver();
    before(async () => {
      await receiver.start();
      h = await createHarness(kind, { sshPortRange: '27415-27424', lowBalanceThresholds: '500,100', billingGraceHours: 2, billingDestroyAfterHours: 0, webhookAllowHosts: '127.0.0.1', sessionTtlHours: 24 * 90 }, new FakeDriver());
      setClock(h, '2027-03-10T00:00:00.000Z');
      admin = await h.adminToken();
    });
    after(async () => {
      await h.close();
      await receiver.stop();
    });

    const db = () => h.db.handle.db;
    /** The user's low-balance steps (billing.negative_balance is the admin's metering warning, left out). */
    const eventsOf = async (userId: number) =>
      (await db().selectFrom('events').select('action').where('user_id', '=', userId).where('action', 'like', 'billing.%').where('action', '!=', 'billing.negative_balance').orderBy('id').execute()).map((e) => e.action);
    const vmStatus = async (id: number) => (await db().selectFrom('vms').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;
    const tick = async (minutes: number) => {
      h.clock.advanceMinutes(minutes);
      await h.services.metering.pass();
      await h.services.billing.watch.idle();
      await h.services.ops.idle();
    };

    test('a user who runs out is warned at each threshold, gets a grace period, then their VM is stopped and new VMs and starts get 402; a top-up restores', async () => {
      const u = await h.user('broke');
      const call = (method: 'GET' | 'POST', url: string, body?: unknown) => h.request({ method, url, token: u.token, body });
      const channel = await call('POST', '/api/notifications/channels', { kind: 'webhook', name: 'me', url: receiver.url('/ok') });
      assert.equal(channel.statusCode, 201, channel.body);
      const created = await call('POST', '/api/vms', { name: 'runner', size: 's-1vcpu-1gb' });
      assert.equal(created.statusCode, 201, created.body);
      const vm = created.json();
      await h.services.ops.idle();
      assert.equal(vm.price_hourly, 4);
      const state = async () => (await call('GET', '/api/account/billing')).json();
      assert.equal((await state()).state, 'ok');

      // 125 more hours: 1000 - 4 - 500 = 496, below 500.
      await tick(125 * 60);
      assert.equal((await state()).balance, 496);
      assert.deepEqual(await eventsOf(u.id), ['billing.low_balance']);
      assert.equal((await state()).state, 'low');
      await tick(10);
      assert.deepEqual(await eventsOf(u.id), ['billing.low_balance'], 'once per crossing');

      await tick(100 * 60); // 96
      assert.deepEqual(await eventsOf(u.id), ['billing.low_balance', 'billing.low_balance']);

      await tick(24 * 60); // 0: grace begins
      const grace = await state();
      assert.equal(grace.balance, 0);
      assert.equal(grace.state, 'grace');
      assert.equal(grace.grace_ends_at, new Date(h.clock.now().getTime() + 2 * 3_600_000).toISOString());
      assert.equal(await vmStatus(vm.id), 'running', 'nothing is stopped during grace');

      await tick(60); // -4: still grace
      assert.equal(await vmStatus(vm.id), 'running');
      assert.equal((await state()).state, 'grace');

      await tick(60); // grace over
      assert.equal(await vmStatus(vm.id), 'stopped');
      const suspended = await state();
      assert.equal(suspended.state, 'suspended');
      assert.ok(suspended.suspended_at);
      assert.deepEqual(await eventsOf(u.id), ['billing.low_balance', 'billing.low_balance', 'billing.grace_started', 'billing.suspended']);

      const refused = await call('POST', '/api/vms', { name: 'another', size: 's-1vcpu-1gb' });
      assert.equal(refused.statusCode, 402, refused.body);
      assert.equal(refused.json().code, 'insufficient_credits');
      const start = await call('POST', `/api/vms/${vm.id}/action`, { action: 'start' });
      assert.equal(start.statusCode, 402, start.body);

      // A top-up above zero ends the suspension at once (no metering pass needed).
      const topUp = await h.request({ method: 'POST', url: `/api/admin/users/${u.id}/credits`, token: admin, body: { amount: 500, reason: 'top-up' } });
      assert.equal(topUp.statusCode, 200, topUp.body);
      await h.services.billing.watch.idle();
      const restored = await state();
      assert.equal(restored.suspended_at, null);
      assert.equal(restored.state, 'low', 'still below 500, announced already');
      assert.equal((await call('POST', `/api/vms/${vm.id}/action`, { action: 'start' })).statusCode, 202);
      await h.services.ops.idle();
      assert.equal(await vmStatus(vm.id), 'running');
      assert.deepEqual((await eventsOf(u.id)).slice(-1), ['billing.restored']);

      // Every step reached the user's channel, in order.
      await h.services.notifications.idle();
      const deliveries = (await call('GET', `/api/notifications/deliveries?channel_id=${channel.json().id}`)).json() as { topic: string }[];
      assert.deepEqual(deliveries.map((d) => d.topic).reverse(), ['billing.low_balance', 'billing.low_balance', 'billing.grace_started', 'billing.suspended', 'billing.restored']);
      const graceMail = receiver.got.map((g) => JSON.parse(g.raw.toString())).find((b) => b.topic === 'billing.grace_started');
      assert.ok(graceMail, 'the webhook received the grace notice');
      assert.match(JSON.stringify(graceMail), new RegExp(grace.grace_ends_at.slice(0, 16)), 'it says when the VMs will be stopped');
    });

    test('a notifier that throws or never answers neither undoes nor holds up a step; destroy after the longer wait', async () => {
      const u = await h.user('unlucky');
      const vmId = await h.vm(u, 'doomed');
      await h.services.billing.watch.idle();
      const repo = new BillingRepository(db());
      const watchWith = (notifier: Notifier) =>
        new BalanceWatch({ repo, vms: h.services.vms, events: h.services.events, notifier, clock: h.clock, log: h.app.log, policy: { thresholds: [500, 100], graceHours: 0, destroyAfterHours: 1 }, burnRate: async () => 4 });
      const throwing: Notifier = {
        notify: () => {
          throw new Error('SMTP is down');
        },
      };
      const hanging: Notifier = { notify: () => new Promise(() => {}) };
      const rejecting: Notifier = { notify: async () => Promise.reject(new Error('webhook 500')) };

      // The balance is gone (set directly: this test is about the watch, not the ledger).
      await db().updateTable('users').set({ credits: -5 }).where('id', '=', u.id).execute();
      await watchWith(throwing).evaluate(u.id);
      const row = await db().selectFrom('users').select(['grace_started_at', 'suspended_at']).where('id', '=', u.id).executeTakeFirstOrThrow();
      assert.ok(row.grace_started_at && row.suspended_at, 'grace 0: grace and suspension written despite the throwing notifier');
      await h.services.ops.idle();
      assert.equal(await vmStatus(vmId), 'stopped');

      h.clock.advanceMinutes(61);
      await watchWith(hanging).evaluate(u.id); // resolves: the notification is not awaited
      await h.services.ops.idle();
      assert.ok((await db().selectFrom('vms').select('destroyed_at').where('id', '=', vmId).executeTakeFirstOrThrow()).destroyed_at, 'destroyed after the longer wait');
      assert.deepEqual((await eventsOf(u.id)).filter((e) => e !== 'billing.low_balance'), ['billing.grace_started', 'billing.suspended', 'billing.vms_destroyed']);

      await db().updateTable('users').set({ credits: 50 }).where('id', '=', u.id).execute();
      await watchWith(rejecting).evaluate(u.id);
      assert.equal((await db().selectFrom('users').select('suspended_at').where('id', '=', u.id).executeTakeFirstOrThrow()).suspended_at, null);
      assert.deepEqual((await eventsOf(u.id)).slice(-1), ['billing.restored']);
    });
  });
}
