import { sql, type ExpressionBuilder } from 'kysely';
import type { Db } from '../../db/database.js';
import type { Database } from '../../db/schema.js';
import type { BalanceState } from './balance-rules.js';
import { isSqlite } from './sql-dialect.js';

export interface UserBalanceRow extends BalanceState {
  id: number;
  username: string;
}

/** A VM's charges in one month: hours and credits (positive), refunds subtracted. */
export interface VmMonthUsage {
  vm_id: number;
  hours: number;
  credits: number;
}

export interface BilledVmInfo {
  id: number;
  name: string;
  status: string;
  price_hourly: number;
  destroyed_at: string | null;
}

const STATE = ['users.id', 'users.username', 'users.credits', 'users.billing_warned_below', 'users.grace_started_at', 'users.suspended_at'] as const;

/** Whether the user has a VM that is not destroyed (1/0 on SQLite, a boolean on PostgreSQL). */
const hasVms = (eb: ExpressionBuilder<Database, 'users'>) =>
  eb.exists(eb.selectFrom('vms').select('vms.id').whereRef('vms.user_id', '=', 'users.id').where('vms.destroyed_at', 'is', null)).as('has_vms');

const toState = (r: Omit<UserBalanceRow, 'has_vms'> & { has_vms: unknown }): UserBalanceRow => ({
  ...r,
  credits: Number(r.credits),
  has_vms: Boolean(Number(r.has_vms)),
  billing_warned_below: r.billing_warned_below === null ? null : Number(r.billing_warned_below),
});

/** The balance watch's columns on users, and the usage figures of the billing page. */
export class BillingRepository {
  constructor(private readonly db: Db) {}

  transaction<T>(fn: (trx: Db) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(fn);
  }

  /**
   * A user's balance state, locked until the transaction ends on PostgreSQL (FOR UPDATE waits
   * for a transaction that changed the balance to commit, then reads what it wrote; SQLite has
   * one writer anyway). Undefined for a missing or deleted user.
   */
  async lockState(userId: number, trx: Db): Promise<UserBalanceRow | undefined> {
    let q = trx.selectFrom('users').select([...STATE, hasVms]).where('users.id', '=', userId).where('users.deleted_at', 'is', null);
    if (!isSqlite(trx)) q = q.forUpdate('users');
    const row = await q.executeTakeFirst();
    return row ? toState(row) : undefined;
  }

  async state(userId: number): Promise<UserBalanceRow | undefined> {
    const row = await this.db.selectFrom('users').select([...STATE, hasVms]).where('users.id', '=', userId).executeTakeFirst();
    return row ? toState(row) : undefined;
  }

  async writeState(userId: number, patch: Partial<Omit<BalanceState, 'credits' | 'has_vms'>>, trx: Db): Promise<void> {
    await trx.updateTable('users').set(patch).where('id', '=', userId).execute();
  }

  /**
   * Users the watch must look at on its periodic pass: below the highest threshold (or at
   * zero), already warned, in grace or suspended. Everyone else has nothing to announce.
   */
  async candidates(highestThreshold: number): Promise<UserBalanceRow[]> {
    const rows = await this.db
      .selectFrom('users')
      .select([...STATE, hasVms])
      .where('users.deleted_at', 'is', null)
      .where((eb) =>
        eb.or([
          eb('users.credits', '<', Math.max(highestThreshold, 1)),
          eb('users.billing_warned_below', 'is not', null),
          eb('users.grace_started_at', 'is not', null),
          eb('users.suspended_at', 'is not', null),
        ]),
      )
      .orderBy('users.id')
      .execute();
    return rows.map(toState);
  }

  /** The user's VMs not yet destroyed (running or stopped: both bill). */
  liveVms(userId: number): Promise<BilledVmInfo[]> {
    return this.db.selectFrom('vms').select(['id', 'name', 'status', 'price_hourly', 'destroyed_at']).where('user_id', '=', userId).where('destroyed_at', 'is', null).orderBy('id').execute();
  }

  /** Some of the user's VMs (also destroyed ones), by id: another user's VM never comes back. */
  vmsOf(userId: number, ids: number[]): Promise<BilledVmInfo[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.db.selectFrom('vms').select(['id', 'name', 'status', 'price_hourly', 'destroyed_at']).where('user_id', '=', userId).where('id', 'in', ids).orderBy('id').execute();
  }

  /**
   * Per VM, what the month cost: usage rows by the month of their period; the first hour and its
   * refund by the month they were written.
   */
  async monthUsage(userId: number, startIso: string, endIso: string): Promise<VmMonthUsage[]> {
    const rows = await this.db
      .selectFrom('credit_ledger')
      .select([
        'vm_id',
        (eb) => eb.fn.coalesce(eb.fn.sum<number>(sql`case when kind = 'usage' then hours when kind = 'first_hour' then 1 else -1 end`), eb.lit(0)).as('hours'),
        (eb) => eb.fn.coalesce(eb.fn.sum<number>('amount'), eb.lit(0)).as('amount'),
      ])
      .where('user_id', '=', userId)
      .where('vm_id', 'is not', null)
      .where((eb) =>
        eb.or([
          eb.and([eb('kind', '=', 'usage'), eb('period', '>=', startIso), eb('period', '<', endIso)]),
          eb.and([eb('kind', 'in', ['first_hour', 'first_hour_refund']), eb('created_at', '>=', startIso), eb('created_at', '<', endIso)]),
        ]),
      )
      .groupBy('vm_id')
      .execute();
    return rows.map((r) => ({ vm_id: r.vm_id!, hours: Number(r.hours), credits: -Number(r.amount) }));
  }

  /** Credits granted or adjusted upwards in [start, end) (rows without a kind, positive). */
  async creditsAdded(userId: number, startIso: string, endIso: string): Promise<number> {
    const row = await this.db
      .selectFrom('credit_ledger')
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('amount'), eb.lit(0)).as('total'))
      .where('user_id', '=', userId)
      .where('kind', 'is', null)
      .where('amount', '>', 0)
      .where('created_at', '>=', startIso)
      .where('created_at', '<', endIso)
      .executeTakeFirstOrThrow();
    return Number(row.total);
  }

  /** The balance as the ledger had it just before `iso` (the sum of earlier rows). */
  async balanceBefore(userId: number, iso: string): Promise<number> {
    const row = await this.db
      .selectFrom('credit_ledger')
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('amount'), eb.lit(0)).as('total'))
      .where('user_id', '=', userId)
      .where('created_at', '<', iso)
      .executeTakeFirstOrThrow();
    return Number(row.total);
  }

  /** Every month (UTC, YYYY-MM) with a ledger row of the user's, by when written or the hours paid. */
  async months(userId: number): Promise<string[]> {
    const written = isSqlite(this.db) ? sql<string>`substr(created_at, 1, 7)` : sql<string>`to_char(created_at at time zone 'UTC', 'YYYY-MM')`;
    const rows = await this.db.selectFrom('credit_ledger').select(written.as('month')).where('user_id', '=', userId).groupBy(written).execute();
    const paid = await this.db
      .selectFrom('credit_ledger')
      .select(sql<string>`substr(period, 1, 7)`.as('month'))
      .where('user_id', '=', userId)
      .where('kind', '=', 'usage')
      .groupBy(sql`substr(period, 1, 7)`)
      .execute();
    return [...new Set([...rows, ...paid].map((r) => r.month))].sort().reverse();
  }
}
