import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { FakeDriver } from '../../test-support/fake-driver.js';
import { createHarness, type Harness } from '../../test-support/harness.js';
import { setClock } from '../../test-support/billing.js';

interface Entry {
  id: number;
  amount: number;
  balance_after: number;
  reason: string;
  kind: string | null;
  vm_id: number | null;
  hours: number | null;
  period: string | null;
}

for (const kind of testDatabaseKinds()) {
  describe(`billing and ledger API (${kind})`, () => {
    let h: Harness;
    let admin: string;
    let a: { id: number; token: string };
    let b: { id: number; token: string };
    let vmA: number;
    let vmB: number;
    before(async () => {
      h = await createHarness(kind, { sshPortRange: '27425-27434', sessionTtlHours: 24 * 90, lowBalanceThresholds: '500,100' }, new FakeDriver());
      setClock(h, '2027-04-10T12:00:00.000Z');
      admin = await h.adminToken();
      a = await h.user('alice');
      b = await h.user('bob');
      vmA = await h.vm(a, 'web'); // +100000 credits, then a VM at 4 credits an hour
      vmB = await h.vm(b, 'db');
      // An adjustment whose reason a spreadsheet would run, with a comma and quotes.
      await h.request({ method: 'POST', url: `/api/admin/users/${a.id}/credits`, token: admin, body: { amount: 25, reason: '=HYPERLINK("http://x"), "gift"' } });
      h.clock.advanceMinutes(3 * 60 + 5);
      await h.services.metering.pass();
    });
    after(() => h.close());

    const get = (token: string, url: string) => h.request({ method: 'GET', url, token });
    const ledgerOf = async (token: string, query = '') => (await get(token, `/api/account/ledger${query}`)).json() as Entry[];

    test('GET /api/account/billing: balance, burn, runway and this month\'s usage match the ledger; only your VMs', async () => {
      const res = await get(a.token, '/api/account/billing');
      assert.equal(res.statusCode, 200, res.body);
      const billing = res.json();
      const ledger = await ledgerOf(a.token, '?limit=1000');
      const sum = ledger.reduce((t, e) => t + e.amount, 0);
      assert.equal(billing.balance, sum, 'balance = ledger sum');
      assert.equal(billing.month, '2027-04');
      assert.deepEqual(billing.vms.map((v: { vm_id: number }) => v.vm_id), [vmA], "never another user's VM");
      const charged = ledger.filter((e) => e.vm_id === vmA);
      const credits = -charged.reduce((t, e) => t + e.amount, 0);
      assert.equal(credits, 4 * 4, 'the first hour and three more');
      assert.deepEqual(billing.month_to_date, { hours: 4, credits });
      assert.deepEqual([billing.vms[0].hours, billing.vms[0].credits, billing.vms[0].capped, billing.vms[0].status], [4, credits, false, 'running']);
      assert.equal(billing.burn_rate_hourly, 4);
      assert.equal(billing.runway_hours, Math.floor((billing.balance / 4) * 10) / 10);
      assert.deepEqual([billing.state, billing.grace_ends_at, billing.suspended_at, billing.destroy_at], ['ok', null, null, null]);
      assert.deepEqual(billing.policy, { monthly_cap_hours: 672, low_balance_thresholds: [500, 100], grace_hours: 24, destroy_after_hours: 0, stopped_vms_bill: true });
      // The admin's user detail reads the same summary.
      const summary = await h.services.billing.service.summary(a.id);
      assert.deepEqual(summary, { balance: billing.balance, burn_rate_hourly: 4, runway_hours: billing.runway_hours, state: 'ok', grace_ends_at: null, suspended_at: null, destroy_at: null });
    });

    test('GET /api/account/billing/usage: a month\'s statement; 400 for a malformed month', async () => {
      const april = (await get(a.token, '/api/account/billing/usage')).json();
      assert.equal(april.month, '2027-04');
      assert.deepEqual(april.vms.map((v: { vm_id: number }) => v.vm_id), [vmA]);
      assert.equal(april.total_hours, 4);
      assert.equal(april.total_credits, 16);
      assert.equal(april.credits_added, 1000 + 100_000 + 25, 'the sign-up grant and both top-ups');
      assert.equal(april.opening_balance, 0);
      assert.equal(april.closing_balance, april.credits_added - april.total_credits);
      assert.deepEqual(april.months, ['2027-04']);
      const march = (await get(a.token, '/api/account/billing/usage?month=2027-03')).json();
      assert.deepEqual([march.vms, march.total_hours, march.opening_balance, march.closing_balance], [[], 0, 0, 0]);
      for (const bad of ['2027-13', '27-04', 'april', '2027-4']) {
        const res = await get(a.token, `/api/account/billing/usage?month=${bad}`);
        assert.equal(res.statusCode, 400, bad);
        assert.ok(res.json().code && res.json().request_id, 'the one error body');
      }
      const bob = (await get(b.token, '/api/account/billing/usage')).json();
      assert.deepEqual(bob.vms.map((v: { vm_id: number }) => v.vm_id), [vmB]);
    });

    test('GET /api/account/ledger: filters, a cursor in X-Next-Cursor, never another user\'s rows', async () => {
      const all = await ledgerOf(a.token);
      assert.equal(all.length, 5, "grant, top-up, first hour, gift, one metering row");
      assert.deepEqual(all.map((e) => e.id), [...all.map((e) => e.id)].sort((x, y) => y - x), 'newest first');

      const usage = await ledgerOf(a.token, '?kind=usage');
      assert.ok(usage.length >= 2 && usage.every((e) => (e.kind === 'usage' || e.kind === 'first_hour') && e.vm_id === vmA));
      const hourly = usage.find((e) => e.kind === 'usage')!;
      assert.deepEqual([hourly.hours, hourly.period], [3, '2027-04-10T13:00:00.000Z']);
      const creditRows = await ledgerOf(a.token, '?kind=credit');
      assert.deepEqual(creditRows.map((e) => e.amount).sort((x, y) => x - y), [25, 1000, 100_000]);
      assert.deepEqual(await ledgerOf(a.token, '?kind=debit'), []);
      assert.deepEqual(await ledgerOf(a.token, `?vm_id=${vmB}`), [], "another user's VM id finds nothing");
      assert.deepEqual((await ledgerOf(a.token, '?q=hyperlink')).map((e) => e.amount), [25], 'q: a case-insensitive substring of the reason');
      assert.deepEqual(await ledgerOf(a.token, '?q=%25'), [], '% is literal');
      assert.equal((await ledgerOf(a.token, '?month=2027-04')).length, all.length);
      assert.deepEqual(await ledgerOf(a.token, '?month=2027-05'), []);
      assert.deepEqual(await ledgerOf(a.token, '?since=2027-04-10T14:00:00.000Z'), all.filter((e) => e.kind === 'usage'), 'since: the metering row written at 15:05');
      assert.equal((await ledgerOf(a.token, '?until=2027-04-10T14:00:00.000Z')).length, all.length - 1);

      // Paging: limit 2, following X-Next-Cursor, gives every row once.
      const seen: number[] = [];
      let url = '/api/account/ledger?limit=2';
      for (let pages = 0; pages < 20; pages++) {
        const res = await get(a.token, url);
        const page = res.json() as Entry[];
        assert.ok(page.length <= 2);
        seen.push(...page.map((e) => e.id));
        const next = res.headers['x-next-cursor'];
        if (next === undefined) break;
        url = `/api/account/ledger?limit=2&before_id=${next}`;
      }
      assert.deepEqual(seen, all.map((e) => e.id));

      const bobs = await ledgerOf(b.token);
      assert.ok(bobs.length > 0 && bobs.every((e) => !all.some((x) => x.id === e.id)), "bob never sees alice's rows");
      assert.equal((await get(a.token, '/api/account/ledger?kind=nope')).statusCode, 400);
      assert.equal((await get(a.token, '/api/account/ledger?limit=0')).statusCode, 400);
    });

    test('GET /api/account/ledger/export: CSV with a header row, escaped, as an attachment; JSON; filters apply', async () => {
      const all = await ledgerOf(a.token, '?limit=1000');
      const csv = await get(a.token, '/api/account/ledger/export?format=csv');
      assert.equal(csv.statusCode, 200, csv.body);
      assert.match(String(csv.headers['content-type']), /^text\/csv/);
      assert.match(String(csv.headers['content-disposition']), /^attachment; filename="twarga-ledger-\d{8}T\d{6}Z\.csv"$/);
      const lines = csv.body.trim().split('\n');
      assert.equal(lines[0], 'id,created_at,kind,amount,balance_after,hours,period,vm_id,reason,actor_id');
      assert.equal(lines.length, all.length + 1);
      assert.ok(csv.body.includes(`"'=HYPERLINK(""http://x""), ""gift"""`), 'quotes doubled, the formula defused, the comma quoted');
      assert.ok(lines.some((l) => l.includes(',usage,-12,')), 'negative amounts stay numbers');

      const json = await get(a.token, '/api/account/ledger/export?format=json&kind=usage');
      assert.equal(json.statusCode, 200);
      assert.match(String(json.headers['content-disposition']), /\.json"$/);
      assert.deepEqual(json.json(), await ledgerOf(a.token, '?kind=usage'));
      const bobCsv = (await get(b.token, '/api/account/ledger/export')).body;
      assert.ok(!bobCsv.includes('HYPERLINK') && !bobCsv.includes(`,${vmA},`), "bob's export has none of alice's rows");
      assert.equal((await get(a.token, '/api/account/ledger/export?format=xml')).statusCode, 400);
    });

    test('the routes need a signed-in user', async () => {
      for (const url of ['/api/account/billing', '/api/account/billing/usage', '/api/account/ledger', '/api/account/ledger/export']) {
        assert.equal((await h.request({ method: 'GET', url })).statusCode, 401, url);
      }
    });
  });
}
