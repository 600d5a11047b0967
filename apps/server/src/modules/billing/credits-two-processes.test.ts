import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildApp } from '../../app.js';
import { loadOrCreateSecrets } from '../../config/secrets.js';
import { openDatabase, type DatabaseHandle, type Db } from '../../db/database.js';
import { balancesAndLedgerSums, insertRunningVms, usageByVm } from '../../test-support/billing.js';
import { FakeDriver } from '../../test-support/fake-driver.js';
import { createHarness, type Harness } from '../../test-support/harness.js';
import { startedHours } from './metering-plan.js';

type App = Awaited<ReturnType<typeof buildApp>>['app'];
type Services = Awaited<ReturnType<typeof buildApp>>['services'];

const ADJUSTMENTS = 200;
const VMS = 12;
const PRICE = 3;
const HOURS_MOVED = 5;

/** Amounts of both signs, none zero (the API refuses 0); their sum is known. */
const amountOf = (i: number) => (i % 3 === 0 ? -(i % 17) - 1 : (i % 41) + 1);

/**
 * Issue 16's chaos test: 200 admin credit adjustments split over two server processes on one
 * PostgreSQL, while both processes' metering runs (the timers, which only the leader runs, and
 * direct passes on both, as a standby that still believed it led would). Nothing is lost or
 * counted twice: balance = initial + adjustments − metering, balance = the ledger, one usage
 * row per VM-hour, every adjustment in the ledger exactly once.
 */
describe('credit changes and metering across two server processes on one PostgreSQL', { skip: process.env.TWARGA_TEST_PG_URL ? false : 'needs TWARGA_TEST_PG_URL' }, () => {
  let h: Harness;
  let db: Db;
  let second: { app: App; services: Services; database: DatabaseHandle };
  let admin: string;
  let tenant: { id: number; token: string };
  const marks = new Map<number, number>(); // VM id -> its paid-up mark when the test began (ms)

  before(async () => {
    h = await createHarness('postgres');
    db = h.db.handle.db;
    const database = await openDatabase({ url: h.db.url!, dataDir: h.db.dataDir });
    const built = await buildApp({ config: h.config, secrets: loadOrCreateSecrets(h.db.dataDir), database, clock: h.clock, logger: false, driver: new FakeDriver() });
    await built.app.ready();
    second = { app: built.app, services: built.services, database };
    admin = await h.adminToken();
    tenant = await h.user('tenant');
    // Running VMs paid up to a minute ago: their next hour begins as soon as the clock moves.
    const mark = new Date(h.clock.now().getTime() - 60_000).toISOString();
    for (const id of await insertRunningVms(db, tenant.id, VMS, { billedUntil: mark, price: PRICE })) marks.set(id, Date.parse(mark));
  });
  after(async () => {
    await second?.app.close();
    await second?.database.close();
    await h?.close();
  });

  const balanceOf = async (userId: number) => Number((await db.selectFrom('users').select('credits').where('id', '=', userId).executeTakeFirstOrThrow()).credits);

  test('200 concurrent adjustments over both processes mixed with metering ticks on both: every credit counted once, every VM-hour charged once', async () => {
    const initial = await balanceOf(tenant.id);
    const jobs = [h.services.metering.job, second.services.metering.job];
    for (const job of jobs) job.start(20);
    let metering = true;
    // Hours begin while the adjustments land; both processes also run passes directly (no leadership check).
    const ticker = (async () => {
      for (let hour = 0; hour < HOURS_MOVED; hour++) {
        h.clock.advanceMinutes(60);
        await Promise.all([h.services.metering.charge(), second.services.metering.charge(), h.services.metering.charge()]);
        await new Promise((r) => setTimeout(r, 30));
      }
      while (metering) await Promise.all([h.services.metering.charge(), second.services.metering.charge()]);
    })();
    const answers = await Promise.all(
      Array.from({ length: ADJUSTMENTS }, (_, i) =>
        (i % 2 ? second.app : h.app).inject({ method: 'POST', url: `/api/admin/users/${tenant.id}/credits`, headers: { authorization: `Bearer ${admin}` }, payload: { amount: amountOf(i), reason: `adjustment ${i}` } }),
      ),
    );
    metering = false;
    await ticker;
    for (const job of jobs) job.stop();
    const ran = jobs.filter((j) => j.status().lastRunAt !== null);
    assert.equal(ran.length, 1, `only the leader's timer ran metering: ${JSON.stringify(jobs.map((j) => j.status()))}`);
    // A pass still running on the leader's timer finishes before the books are read (run() waits for none, charge() does the work).
    await new Promise((r) => setTimeout(r, 100));
    await Promise.all([h.services.metering.charge(), second.services.metering.charge()]);

    for (const [i, r] of answers.entries()) assert.equal(r.statusCode, 200, `adjustment ${i}: ${r.body}`);

    // Every VM-hour once: one usage row per (VM, hour), and as many hours as began since each VM's mark.
    const { hours, duplicates } = await usageByVm(db);
    assert.equal(duplicates, 0, 'no VM-hour charged twice');
    const now = h.clock.now().getTime();
    for (const [id, mark] of marks) assert.equal(hours.get(id), startedHours(mark, undefined, now), `VM ${id}: each begun hour charged once`);
    const charged = [...marks].reduce((sum, [, mark]) => sum + startedHours(mark, undefined, now) * PRICE, 0);

    // Every adjustment exactly once, with its amount.
    const rows = await db.selectFrom('credit_ledger').select(['reason', 'amount']).where('user_id', '=', tenant.id).where('reason', 'like', 'adjustment %').execute();
    assert.equal(rows.length, ADJUSTMENTS, 'one ledger row per adjustment');
    const byReason = new Map(rows.map((r) => [r.reason, Number(r.amount)]));
    for (let i = 0; i < ADJUSTMENTS; i++) assert.equal(byReason.get(`adjustment ${i}`), amountOf(i), `adjustment ${i} in the ledger once`);

    const adjusted = Array.from({ length: ADJUSTMENTS }, (_, i) => amountOf(i)).reduce((a, b) => a + b, 0);
    assert.equal(await balanceOf(tenant.id), initial + adjusted - charged, 'balance = initial + adjustments − metering charges');
    for (const b of await balancesAndLedgerSums(db)) assert.equal(b.credits, b.ledger, `user ${b.id}: balance = sum of the ledger`);
  });
});
