import { sql } from 'kysely';
import type { Db } from '../../db/database.js';
import { chunks, isSqlite } from './sql-dialect.js';

/** What storage metering needs of a snapshot with a day begun and not paid. */
export interface DueSnapshot {
  id: number;
  user_id: number;
  name: string;
  vm_name: string;
  size_bytes: number;
  billed_until: string;
  deleted_at: string | null;
}

/** One day of one snapshot's storage (a ledger row of kind 'snapshot'). */
export interface StorageCharge {
  userId: number;
  snapshotId: number;
  amount: number;
  balanceAfter: number;
  /** ISO start of the UTC day it pays for. */
  period: string;
  reason: string;
}

/**
 * Storage metering's SQL. billed_until is billing's column of the snapshots table, as it is of
 * the vms table: the pass reads and moves it here, in bulk.
 */
export class SnapshotMeteringRepository {
  constructor(private readonly db: Db) {}

  /**
   * Snapshots with a storage day begun and not paid: live ones (available, or being deleted)
   * whose paid time has run out, and deleted ones that lived into a day no pass charged yet. A
   * snapshot that failed, or whose files went missing, is not charged any more.
   */
  due(now: string): Promise<DueSnapshot[]> {
    return this.db
      .selectFrom('snapshots')
      .select(['id', 'user_id', 'name', 'vm_name', 'size_bytes', 'billed_until', 'deleted_at'])
      .where('billed_until', 'is not', null)
      .where('status', 'in', ['available', 'deleting'])
      .where((eb) =>
        eb.or([
          eb.and([eb('deleted_at', 'is', null), eb('billed_until', '<=', now)]),
          eb.and([eb('deleted_at', 'is not', null), eb('billed_until', '<', eb.ref('deleted_at'))]),
        ]),
      )
      .orderBy('id')
      .execute() as Promise<DueSnapshot[]>;
  }

  /** The sizes of a user's snapshots that storage metering charges (live and billed). */
  async billedSizes(userId: number): Promise<number[]> {
    const rows = await this.db
      .selectFrom('snapshots')
      .select('size_bytes')
      .where('user_id', '=', userId)
      .where('deleted_at', 'is', null)
      .where('billed_until', 'is not', null)
      .where('status', 'in', ['available', 'deleting'])
      .execute();
    return rows.map((r) => Number(r.size_bytes));
  }

  /**
   * Compare-and-swap of many paid-up marks in one statement (as MeteringRepository.advance for
   * VMs): a mark moves only if it still holds `from`. Returns the snapshots this call moved.
   */
  async advance(items: { id: number; from: string; to: string }[], trx: Db): Promise<Set<number>> {
    const won = new Set<number>();
    for (const part of chunks([...items].sort((a, b) => a.id - b.id), 5000)) {
      const json = JSON.stringify(part.map((a) => ({ i: a.id, f: a.from, t: a.to })));
      const query = isSqlite(trx)
        ? sql<{ id: number }>`update snapshots set billed_until = json_extract(j.value, '$.t') from json_each(${json}) as j
            where snapshots.id = json_extract(j.value, '$.i') and snapshots.billed_until = json_extract(j.value, '$.f') returning snapshots.id`
        : sql<{ id: number }>`update snapshots set billed_until = v.t from jsonb_to_recordset(cast(${json} as jsonb)) as v(i integer, f timestamptz, t timestamptz)
            where snapshots.id = v.i and snapshots.billed_until = v.f returning snapshots.id`;
      for (const r of (await query.execute(trx)).rows) won.add(r.id);
    }
    return won;
  }

  /** The day rows, in chunks; (snapshot_id, kind, period) is unique, so a day is never written twice. */
  async insertCharges(charges: StorageCharge[], now: string, trx: Db): Promise<void> {
    for (const part of chunks(charges, 500)) {
      await trx
        .insertInto('credit_ledger')
        .values(part.map((c) => ({ user_id: c.userId, amount: c.amount, balance_after: c.balanceAfter, reason: c.reason, actor_id: null, created_at: now, vm_id: null, kind: 'snapshot', period: c.period, hours: null, snapshot_id: c.snapshotId })))
        .execute();
    }
  }

  transaction<T>(fn: (trx: Db) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(fn);
  }
}
