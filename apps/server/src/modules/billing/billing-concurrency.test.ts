import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { FakeDriver } from '../../test-support/fake-driver.js';
import { createHarness, type Harness } from '../../test-support/harness.js';
import { balancesAndLedgerSums, insertRunningVms, setClock, usageByVm } from '../../test-support/billing.js';
import { startedHours } from './metering-plan.js';

for (const kind of testDatabaseKinds()) {
  describe(`credits and metering at the same time (${kind})`, () => {
    let h: Harness;
    before(async () => {
      h = await createHarness(kind, { sshPortRange: '27435-27449', sessionTtlHours: 24 * 90 }, new FakeDriver());
      setClock(h, '2027-05-12T08:00:00.000Z');
    });
    after(() => h.close());

    test('200 concurrent credit adjustments through the API mixed with metering passes over 150 VMs: every balance equals its ledger', async () => {
      const admin = await h.adminToken();
      const users: number[] = [];
      const marks = new Map<number, number>();
      for (let i = 0; i < 10; i++) {
        const u = await h.user(`race${i}`);
        users.push(u.id);
        const mark = new Date(h.clock.now().getTime() - 60_000).toISOString();
        for (const id of await insertRunningVms(h.db.handle.db, u.id, 15, { billedUntil: mark, price: 1 + (i % 3), prefix: `r${i}-` })) marks.set(id, Date.parse(mark));
      }
      const start = h.clock.now().getTime();

      // Deterministic amounts, credits and debits; debits small enough never to be refused.
      const adjustments = Array.from({ length: 200 }, (_, k) => ({ user: users[k % users.length]!, amount: k % 4 === 3 ? -7 : 13 + (k % 5) }));
      const work: Promise<unknown>[] = adjustments.map(async ({ user, amount }) => {
        const res = await h.request({ method: 'POST', url: `/api/admin/users/${user}/credits`, token: admin, body: { amount, reason: `race ${amount}` } });
        assert.equal(res.statusCode, 200, res.body);
        return res.json();
      });
      // Ten passes in the middle of it, each after another hour began.
      for (let p = 0; p < 10; p++) {
        work.splice(p * 20, 0, (async () => {
          await new Promise((r) => setImmediate(r));
          h.clock.advanceMinutes(60);
          return h.services.metering.charge();
        })());
      }
      const results = await Promise.all(work);
      await h.services.metering.charge();
      await h.services.billing.watch.idle();

      for (const b of await balancesAndLedgerSums(h.db.handle.db)) assert.equal(b.credits, b.ledger, `user ${b.id}: balance ${b.credits}, ledger ${b.ledger}`);
      const adjusted = await h.db.handle.db.selectFrom('credit_ledger').select((eb) => eb.fn.sum<number>('amount').as('t')).where('reason', 'like', 'race %').executeTakeFirstOrThrow();
      assert.equal(Number(adjusted.t), adjustments.reduce((t, a) => t + a.amount, 0), 'every adjustment is in the ledger once');
      assert.equal(results.filter((r) => r && typeof r === 'object' && 'new_balance' in r).length, 200);

      const { hours, duplicates } = await usageByVm(h.db.handle.db);
      assert.equal(duplicates, 0);
      const now = h.clock.now().getTime();
      assert.ok(now - start >= 10 * 3_600_000);
      for (const [id, mark] of marks) assert.equal(hours.get(id), startedHours(mark, undefined, now), `VM ${id} paid every hour that began, once`);
    });
  });
}
