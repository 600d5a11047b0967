import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openDatabase, type DatabaseHandle, type Db } from '../../db/database.js';
import { UserChanges } from '../../lib/user-changes.js';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { FakeDriver } from '../../test-support/fake-driver.js';
import { createHarness, type Harness } from '../../test-support/harness.js';
import type { EventLog } from '../events/event-log.js';
import { balancesAndLedgerSums, insertRunningVms, usageByVm } from '../../test-support/billing.js';
import { LedgerService, type BalanceMove, type UsageCharge } from './ledger.service.js';
import { startedHours } from './metering-plan.js';
import { MeteringRepository, type DueVm } from './metering.repository.js';
import { Metering } from './metering.js';

const noEvents = { record: async () => {}, recordMany: async () => {} } as unknown as EventLog;

/** A LedgerService that dies right after writing the usage rows, before the commit (a crash mid-tick). */
class CrashingLedger extends LedgerService {
  override async chargeUsage(charges: UsageCharge[], now: string, trx: Db): Promise<Map<number, BalanceMove>> {
    await super.chargeUsage(charges, now, trx);
    throw new Error('process killed mid-tick');
  }
}

/** A repository whose due list is a snapshot taken earlier (a pass that read, then stalled). */
class StaleRepository extends MeteringRepository {
  constructor(db: Db, private readonly snapshot: DueVm[]) {
    super(db);
  }
  override async due(): Promise<DueVm[]> {
    return this.snapshot;
  }
}

for (const kind of testDatabaseKinds()) {
  describe(`metering charges every hour exactly once (${kind})`, () => {
    let h: Harness;
    let db: Db;
    let second: DatabaseHandle | undefined;
    let users: { id: number; token: string }[];
    const vms = new Map<number, number>(); // vm id -> its first paid-up mark (ms)
    const meter = (on: Db, ledger = new LedgerService(on, new UserChanges()), repo = new MeteringRepository(on)) =>
      new Metering({ repo, ledger, events: noEvents, clock: h.clock, log: h.app.log, monthlyCapHours: 672 });

    before(async () => {
      h = await createHarness(kind, { sshPortRange: '27405-27409' }, new FakeDriver());
      db = h.db.handle.db;
      users = [await h.user('once1'), await h.user('once2'), await h.user('once3')];
      const mark = new Date(h.clock.now().getTime() - 60_000).toISOString();
      for (const u of users) for (const id of await insertRunningVms(db, u.id, 20, { billedUntil: mark, price: 3 })) vms.set(id, Date.parse(mark));
      // PostgreSQL: a second pool on the same database, as a second server process would have.
      // (SQLite is one process's file: its two passes share the connection, as in production.)
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

    /** Each VM's charged hours equal the hours that began since its first mark; balances equal ledger sums. */
    const assertExact = async (label: string) => {
      const { hours, duplicates } = await usageByVm(db);
      assert.equal(duplicates, 0, `${label}: no (vm, period) charged twice`);
      const now = h.clock.now().getTime();
      for (const [id, mark] of vms) assert.equal(hours.get(id) ?? 0, startedHours(mark, undefined, now), `${label}: VM ${id}`);
      for (const b of await balancesAndLedgerSums(db)) assert.equal(b.credits, b.ledger, `${label}: user ${b.id} balance equals its ledger`);
    };

    test('a pass that dies after moving the marks and writing the rows leaves nothing; the next pass charges once', async () => {
      const before = await balancesAndLedgerSums(db);
      await assert.rejects(meter(db, new CrashingLedger(db, new UserChanges())).charge(), /killed mid-tick/);
      assert.deepEqual(await balancesAndLedgerSums(db), before, 'no balance moved');
      assert.equal((await usageByVm(db)).hours.size, 0, 'no usage row survived');
      const marks = await db.selectFrom('vms').select(['id', 'billed_until']).where('id', 'in', [...vms.keys()]).execute();
      for (const m of marks) assert.equal(Date.parse(m.billed_until!), vms.get(m.id), 'no paid-up mark moved');

      const result = await meter(db).charge();
      assert.equal(result.charged, vms.size);
      await assertExact('after the fresh pass');
      assert.equal((await meter(db).charge()).charged, 0, 'a second pass finds nothing due');
      await assertExact('after a repeat');
    });

    test('a pass that read the due VMs before another pass charged them charges nothing (compare-and-swap)', async () => {
      h.clock.advanceMinutes(60);
      const snapshot = await new MeteringRepository(db).due(h.clock.now().toISOString());
      assert.equal(snapshot.length, vms.size);
      await meter(db).charge();
      const stale = await meter(db, undefined, new StaleRepository(db, snapshot)).charge();
      assert.equal(stale.charged, 0);
      await assertExact('after the stale pass');
    });

    test('passes racing (two instances, and on PostgreSQL two connection pools) never double-charge or skip', async () => {
      const other = second?.db ?? db;
      for (let round = 0; round < 4; round++) {
        h.clock.advanceMinutes(60 + round * 7);
        await Promise.all([meter(db).charge(), meter(other).charge(), meter(db).charge(), meter(other).charge()]);
        await assertExact(`round ${round}`);
      }
    });

    test('the ledger itself refuses a second row for the same VM and hour (unique key, not a check in memory)', async () => {
      const row = await db.selectFrom('credit_ledger').selectAll().where('kind', '=', 'usage').limit(1).executeTakeFirstOrThrow();
      const { id: _id, ...copy } = row;
      await assert.rejects(db.insertInto('credit_ledger').values(copy).execute());
    });
  });
}
