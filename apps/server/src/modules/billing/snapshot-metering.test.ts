import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openDatabase, type DatabaseHandle, type Db } from '../../db/database.js';
import { UserChanges } from '../../lib/user-changes.js';
import { balancesAndLedgerSums, setClock } from '../../test-support/billing.js';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { FakeDriver } from '../../test-support/fake-driver.js';
import { createHarness, type Harness } from '../../test-support/harness.js';
import { LedgerRepository } from './ledger.repository.js';
import { LedgerService } from './ledger.service.js';
import { dayCharge, dueDays, SnapshotMetering } from './snapshot-metering.js';
import { SnapshotMeteringRepository } from './snapshot-metering.repository.js';

const DAY = 86_400_000;

describe('snapshot storage: the days of a month add up to the monthly price exactly', () => {
  test('every month length and price', () => {
    for (const month of ['2027-02-01', '2028-02-01', '2027-04-01', '2027-01-01']) {
      const start = Date.parse(`${month}T00:00:00Z`);
      const d = new Date(start);
      const days = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
      for (const price of [0, 1, 7, 10, 29, 30, 31, 100, 12345]) {
        const charges = Array.from({ length: days }, (_, i) => dayCharge(price, start + i * DAY));
        assert.equal(charges.reduce((s, c) => s + c, 0), price, `${month} at ${price}`);
        assert.ok(charges.every((c) => Number.isInteger(c) && c >= 0));
        // Spread evenly: no day pays more than one credit above another.
        assert.ok(Math.max(...charges) - Math.min(...charges) <= 1, `${month} at ${price}: ${charges}`);
      }
    }
  });

  test('due days: every started day of a live snapshot, and the day of a deletion', () => {
    const t = Date.parse('2027-03-10T15:00:00Z');
    assert.deepEqual(dueDays(t, null, t - 1), []);
    assert.deepEqual(dueDays(t, null, t), [Date.parse('2027-03-10T00:00:00Z')]);
    assert.deepEqual(dueDays(t, null, t + DAY).length, 2);
    // Paid up to midnight: the next day is due once it begins.
    const midnight = Date.parse('2027-03-11T00:00:00Z');
    assert.deepEqual(dueDays(midnight, null, midnight - 1), []);
    assert.deepEqual(dueDays(midnight, null, midnight), [midnight]);
    // Deleted during the 12th: the 11th and 12th are due, nothing after, however late the pass.
    assert.deepEqual(dueDays(midnight, midnight + DAY + 3600_000, midnight + 10 * DAY), [midnight, midnight + DAY]);
    // Deleted exactly at midnight: that day had not started for it.
    assert.deepEqual(dueDays(midnight, midnight + DAY, midnight + 10 * DAY), [midnight]);
  });
});

for (const kind of testDatabaseKinds()) {
  describe(`snapshot storage billing (${kind})`, () => {
    let h: Harness;
    let db: Db;
    let second: DatabaseHandle | undefined;
    let user: { id: number; token: string };

    before(async () => {
      h = await createHarness(kind, { snapshotPriceGbMonth: 10, sshPortRange: '27420-27429' }, new FakeDriver());
      db = h.db.handle.db;
      user = await h.user('snapbill');
      if (kind === 'postgres') {
        const url = new URL(process.env.TWARGA_TEST_PG_URL!);
        url.pathname = new URL(`postgres://${h.db.handle.location.slice('postgres://'.length)}`).pathname;
        second = await openDatabase({ url: url.toString(), dataDir: h.db.dataDir });
      }
    });
    after(async () => {
      await second?.close();
      await h.close();
    });

    /** A snapshot row as the snapshot action leaves it: available, billed from `from`. */
    const insertSnapshot = async (name: string, sizeBytes: number, from: string) => {
      const row = await db
        .insertInto('snapshots')
        .values({ user_id: user.id, vm_id: null, vm_name: 'web', name, status: 'available', memory: 0, quiesced: 1, size_bytes: sizeBytes, image: 'tiny', os_type: 'linux', disk: 1, ram: 256, cpu: 1, driver: 'fake', host_id: null, error: null, billed_until: from, created_at: from, updated_at: from, deleted_at: null })
        .returning('id')
        .executeTakeFirstOrThrow();
      return row.id;
    };
    const rowsOf = (id: number) => db.selectFrom('credit_ledger').select(['amount', 'period', 'kind', 'reason', 'balance_after']).where('snapshot_id', '=', id).orderBy('period').execute();
    const meter = (on: Db) => new SnapshotMetering({ repo: new SnapshotMeteringRepository(on), ledgerRepo: new LedgerRepository(on), ledger: new LedgerService(on, new UserChanges()), clock: h.clock, priceGbMonth: 10 });

    test('a month charged day by day adds up to size × price exactly, each day once', async () => {
      // 2.5 GB bills as 3 GB: 30 credits a month; January has 31 days, so some days cost 0 (no row).
      setClock(h, '2031-01-01T09:30:00Z');
      const id = await insertSnapshot('jan', 2_500_000_000, h.clock.now().toISOString());
      for (let day = 0; day < 31; day++) {
        await h.services.metering.pass(); // the metering pass runs storage billing too
        await h.services.metering.pass(); // a second pass the same day adds nothing
        h.clock.advanceMinutes(24 * 60);
      }
      const rows = (await rowsOf(id)).filter((r) => r.period.startsWith('2031-01'));
      assert.equal(rows.reduce((s, r) => s + Number(r.amount), 0), -30);
      assert.equal(new Set(rows.map((r) => r.period)).size, rows.length, 'one row per day at most');
      assert.ok(rows.every((r) => r.kind === 'snapshot' && Number(r.amount) < 0), 'no 0-credit rows');
      assert.match(rows[0]!.reason, /^Snapshot jan of VM web \(#\d+\): 3 GB stored on 2031-01-/);
      for (const b of await balancesAndLedgerSums(db)) assert.equal(b.credits, b.ledger, `user ${b.id}: balance = ledger`);
    });

    test('days missed while the server was down are charged in one pass, a whole month exactly', async () => {
      setClock(h, '2031-02-01T00:00:00Z');
      const id = await insertSnapshot('feb', 7_000_000_000, h.clock.now().toISOString()); // 7 GB: 70 a month
      setClock(h, '2031-03-01T00:00:00Z');
      await h.services.billing.storage.charge();
      const rows = await rowsOf(id);
      assert.equal(rows.filter((r) => r.period.startsWith('2031-02')).reduce((s, r) => s + Number(r.amount), 0), -70);
      assert.equal(rows.filter((r) => r.period.startsWith('2031-02')).length, 28);
      // March 1st has begun: it is paid too, once.
      assert.deepEqual(rows.filter((r) => r.period.startsWith('2031-03')).map((r) => r.period), ['2031-03-01T00:00:00.000Z']);
      const snap = await db.selectFrom('snapshots').select('billed_until').where('id', '=', id).executeTakeFirstOrThrow();
      assert.equal(snap.billed_until, '2031-03-02T00:00:00.000Z');
    });

    test('a deleted snapshot pays the day it was deleted in, and nothing after', async () => {
      setClock(h, '2031-04-10T12:00:00Z');
      const id = await insertSnapshot('gone', 30_000_000_000, h.clock.now().toISOString()); // 30 GB: 300 a month, 10 a day in April
      await h.services.billing.storage.charge();
      h.clock.advanceMinutes(24 * 60); // the 11th, noon
      await db.updateTable('snapshots').set({ status: 'deleting', deleted_at: h.clock.now().toISOString() }).where('id', '=', id).execute();
      h.clock.advanceMinutes(10 * 24 * 60);
      await h.services.billing.storage.charge();
      await h.services.billing.storage.charge();
      assert.deepEqual((await rowsOf(id)).map((r) => [r.period.slice(0, 10), Number(r.amount)]), [['2031-04-10', -10], ['2031-04-11', -10]]);
    });

    test('failed or missing snapshots are not charged', async () => {
      setClock(h, '2031-05-01T00:00:00Z');
      const id = await insertSnapshot('broken', 5_000_000_000, h.clock.now().toISOString());
      await db.updateTable('snapshots').set({ status: 'error' }).where('id', '=', id).execute();
      h.clock.advanceMinutes(3 * 24 * 60);
      await h.services.billing.storage.charge();
      assert.equal((await rowsOf(id)).length, 0);
    });

    test('two passes at once (two processes on PostgreSQL) charge each day once', async () => {
      setClock(h, '2031-06-01T00:00:00Z');
      const ids: number[] = [];
      for (let i = 0; i < 20; i++) ids.push(await insertSnapshot(`race${i}`, 3_000_000_000, h.clock.now().toISOString()));
      setClock(h, '2031-07-01T00:00:00Z');
      await Promise.all([meter(db).charge(), meter(second?.db ?? db).charge(), meter(db).charge()]);
      for (const id of ids) {
        const rows = await rowsOf(id);
        assert.equal(rows.filter((r) => r.period.startsWith('2031-06')).reduce((s, r) => s + Number(r.amount), 0), -30, `snapshot ${id}: June once`);
        assert.equal(new Set(rows.map((r) => r.period)).size, rows.length, `snapshot ${id}: no day twice`);
      }
      for (const b of await balancesAndLedgerSums(db)) assert.equal(b.credits, b.ledger, `user ${b.id}: balance = ledger`);
    });
  });
}
