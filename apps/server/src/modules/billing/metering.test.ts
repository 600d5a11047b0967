import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { FakeDriver } from '../../test-support/fake-driver.js';
import { createHarness, type Harness } from '../../test-support/harness.js';
import { setClock } from '../../test-support/billing.js';
import { startedHours } from './metering.js';

for (const kind of testDatabaseKinds()) {
  describe(`hourly metering (${kind})`, () => {
    let h: Harness;
    let user: { id: number; token: string };
    before(async () => {
      h = await createHarness(kind, { sshPortRange: '27400-27404', sessionTtlHours: 24 * 90 }, new FakeDriver());
      // Mid-month: these tests are about hours, not month boundaries (the next describe is).
      setClock(h, '2027-01-15T10:00:00.000Z');
      user = await h.user('payer');
    });
    after(() => h.close());

    const credits = async () => (await h.request({ method: 'GET', url: '/api/auth/me', token: user.token })).json().credits as number;

    test('every started hour is charged once, stopped VMs too, destroyed ones no more', async () => {
      const vm = (await h.request({ method: 'POST', url: '/api/vms', token: user.token, body: { name: 'meter', size: 's-1vcpu-512mb' } })).json();
      await h.services.ops.idle();
      const price = vm.price_hourly as number;
      assert.equal(await credits(), 1000 - price, 'first hour at creation');

      await h.services.metering.pass();
      assert.equal(await credits(), 1000 - price, 'nothing more within the first hour');

      h.clock.advanceMinutes(61);
      await h.services.metering.pass();
      await h.services.metering.pass();
      assert.equal(await credits(), 1000 - 2 * price, 'the second hour, charged once');

      await h.request({ method: 'POST', url: `/api/vms/${vm.id}/action`, token: user.token, body: { action: 'stop' } });
      await h.services.ops.idle();
      h.clock.advanceMinutes(150);
      await h.services.metering.pass();
      // t+211 min: the hours starting at t+120 and t+180 have begun.
      assert.equal(await credits(), 1000 - 4 * price, 'two more started hours while stopped, in one pass');
      const ledger = (await h.request({ method: 'GET', url: '/api/account/ledger', token: user.token })).json();
      assert.equal(ledger[0].amount, -2 * price);
      assert.match(ledger[0].reason, /2 hours/);

      await h.request({ method: 'POST', url: `/api/vms/${vm.id}/action`, token: user.token, body: { action: 'destroy' } });
      await h.services.ops.idle();
      h.clock.advanceMinutes(300);
      await h.services.metering.pass();
      assert.equal(await credits(), 1000 - 4 * price, 'a destroyed VM costs nothing more');
    });

    test('a VM destroyed into an hour no pass charged yet still pays that hour, once', async () => {
      const before = await credits();
      const vm = (await h.request({ method: 'POST', url: '/api/vms', token: user.token, body: { name: 'brief', size: 's-1vcpu-512mb' } })).json();
      await h.services.ops.idle();
      const price = vm.price_hourly as number;
      // Its second hour begins; it is destroyed 2 minutes into it, before the minutely pass ran.
      h.clock.advanceMinutes(62);
      await h.request({ method: 'POST', url: `/api/vms/${vm.id}/action`, token: user.token, body: { action: 'destroy' } });
      await h.services.ops.idle();
      await h.services.metering.pass();
      await h.services.metering.pass();
      assert.equal(await credits(), before - 2 * price, 'two started hours, the second charged after the destroy');
      h.clock.advanceMinutes(70);
      await h.services.metering.pass();
      assert.equal(await credits(), before - 2 * price, 'and nothing after');
    });

describe('started hours', () => {
  const H = 3_600_000;
  test('live: the hour beginning now counts; destroyed: only hours it lived into', () => {
    assert.equal(startedHours(0, undefined, 0), 1);
    assert.equal(startedHours(0, undefined, H - 1), 1);
    assert.equal(startedHours(0, undefined, 2 * H + 5), 3);
    assert.equal(startedHours(H, undefined, 0), 0);
    assert.equal(startedHours(0, 0, 10 * H), 0, 'destroyed exactly when its paid time ended');
    assert.equal(startedHours(0, 1, 10 * H), 1);
    assert.equal(startedHours(0, H + 1, 10 * H), 2);
    assert.equal(startedHours(5 * H, 2 * H, 10 * H), 0, 'destroyed within a paid hour');
  });
});
  });

  describe(`month boundaries and the monthly cap (${kind})`, () => {
    let h: Harness;
    let user: { id: number; token: string };
    before(async () => {
      // A cap of 5 hours a month, so a test reaches it in a few clock moves.
      h = await createHarness(kind, { sshPortRange: '27410-27414', monthlyCapHours: 5, sessionTtlHours: 24 * 90 }, new FakeDriver());
      setClock(h, '2027-01-31T22:30:00.000Z');
      user = await h.user('capped');
    });
    after(() => h.close());

    const get = async (url: string) => {
      const res = await h.request({ method: 'GET', url, token: user.token });
      assert.equal(res.statusCode, 200, res.body);
      return res.json();
    };
    const usageRows = async () => ((await get('/api/account/ledger?kind=usage')) as { kind: string; period: string; hours: number; amount: number }[]).filter((e) => e.kind === 'usage');
    const capEvents = async (vmId: number) => (await h.db.handle.db.selectFrom('events').select('details').where('action', '=', 'billing.monthly_cap').where('vm_id', '=', vmId).execute()).map((e) => JSON.parse(e.details).month);

    test('a run across the month boundary pays one row per month; the cap stops the charges, not the clock; the next month charges again', async () => {
      const created = await h.request({ method: 'POST', url: '/api/vms', token: user.token, body: { name: 'capme', size: 's-1vcpu-1gb' } });
      assert.equal(created.statusCode, 201, created.body);
      const vm = created.json();
      await h.services.ops.idle();
      const price = vm.price_hourly as number;

      // First hour 22:30 (January, charged at admission); then 23:30 | 00:30, 01:30, 02:30.
      setClock(h, '2027-02-01T02:40:00.000Z');
      await h.services.metering.pass();
      assert.deepEqual(
        (await usageRows()).map((r) => [r.period, r.hours, r.amount]),
        [['2027-02-01T00:30:00.000Z', 3, -3 * price], ['2027-01-31T23:30:00.000Z', 1, -price]],
      );

      // 03:30 … 06:30 begin: February has 3, the cap of 5 lets 2 more be charged; 2 are not.
      setClock(h, '2027-02-01T06:40:00.000Z');
      await h.services.metering.pass();
      const rows = await usageRows();
      assert.deepEqual([rows[0]!.period, rows[0]!.hours], ['2027-02-01T03:30:00.000Z', 2]);
      const mark = (await h.db.handle.db.selectFrom('vms').select('billed_until').where('id', '=', vm.id).executeTakeFirstOrThrow()).billed_until;
      assert.equal(new Date(mark!).toISOString(), '2027-02-01T07:30:00.000Z', 'every begun hour is paid up, charged or not');
      assert.deepEqual(await capEvents(vm.id), ['2027-02']);

      setClock(h, '2027-02-01T12:40:00.000Z');
      await h.services.metering.pass();
      assert.equal((await usageRows()).length, 3, 'capped: no new row');
      assert.deepEqual(await capEvents(vm.id), ['2027-02'], 'the cap is announced once per VM and month');

      const billing = await get('/api/account/billing');
      assert.equal(billing.month, '2027-02');
      assert.deepEqual([billing.vms[0].hours, billing.vms[0].credits, billing.vms[0].capped], [5, 5 * price, true]);
      assert.equal(billing.burn_rate_hourly, 0, 'a capped VM burns nothing more this month');
      assert.equal(billing.runway_hours, null);
      assert.equal(billing.balance, 1000 - 7 * price);
      const january = await get('/api/account/billing/usage?month=2027-01');
      assert.deepEqual([january.total_hours, january.total_credits], [2, 2 * price], 'the first hour and 23:30 are January\'s');

      // March: charged again from its first hour.
      setClock(h, '2027-03-01T01:40:00.000Z');
      await h.services.metering.pass();
      const march = (await usageRows())[0]!;
      assert.deepEqual([march.period, march.hours], ['2027-03-01T00:30:00.000Z', 2]);
      assert.equal((await get('/api/account/billing')).burn_rate_hourly, price);
      assert.equal((await get('/api/account/billing')).balance, 1000 - 9 * price);
    });
  });
}
