import type { LedgerEntry, LedgerQuery } from '@twarga/contract';
import { sql, type SelectQueryBuilder } from 'kysely';
import type { Db } from '../../db/database.js';
import type { Database } from '../../db/schema.js';
import { monthBounds } from './metering-plan.js';
import { anyContains } from '../../lib/sql-search.js';
import { chunks, isSqlite } from './sql-dialect.js';

/** One-off charges tied to a VM; at most one row of each kind per VM (unique index). */
export type VmChargeKind = 'first_hour' | 'first_hour_refund';

/** The ledger filters without paging (the list and the export share them). */
export type LedgerFilter = Omit<LedgerQuery, 'before_id' | 'limit'>;

const COLUMNS = ['id', 'amount', 'balance_after', 'reason', 'actor_id', 'created_at', 'vm_id', 'kind', 'hours', 'period'] as const;

export interface NewLedgerRow {
  user_id: number;
  amount: number;
  balance_after: number;
  reason: string;
  actor_id: number | null;
  created_at: string;
  vm_id?: number | null;
  kind?: VmChargeKind | 'usage' | null;
  period?: string;
  hours?: number | null;
}

/** Amounts are bigint on PostgreSQL; period is '' on rows that are not usage. */
export function toLedgerEntry(r: { id: number; amount: number; balance_after: number; reason: string; actor_id: number | null; created_at: string; vm_id: number | null; kind: string | null; hours: number | null; period: string }): LedgerEntry {
  return { ...r, amount: Number(r.amount), balance_after: Number(r.balance_after), period: r.period === '' ? null : r.period };
}

export class LedgerRepository {
  constructor(private readonly db: Db) {}

  async listForUser(userId: number, limit = 200): Promise<LedgerEntry[]> {
    return (await this.list(userId, { limit })).entries;
  }

  /**
   * One page of a user's ledger, newest first, filtered; `next` is the before_id of the next
   * page (undefined on the last). Used by the user's ledger and the admin's user detail.
   */
  async list(userId: number, query: LedgerQuery = {}): Promise<{ entries: LedgerEntry[]; next?: number }> {
    const limit = query.limit ?? 200;
    let q = this.filtered(userId, query).select([...COLUMNS]).orderBy('id', 'desc').limit(limit + 1);
    if (query.before_id !== undefined) q = q.where('id', '<', query.before_id);
    const rows = (await q.execute()).map(toLedgerEntry);
    const more = rows.length > limit;
    const entries = more ? rows.slice(0, limit) : rows;
    return { entries, next: more ? entries[entries.length - 1]!.id : undefined };
  }

  /** Every matching row, newest first, page by page (the export streams them). */
  async *pages(userId: number, filter: LedgerFilter, pageSize = 1000): AsyncGenerator<LedgerEntry[]> {
    let before: number | undefined;
    for (;;) {
      const page = await this.list(userId, { ...filter, before_id: before, limit: pageSize });
      if (page.entries.length > 0) yield page.entries;
      if (page.next === undefined) return;
      before = page.next;
    }
  }

  /**
   * The filters. kind: usage = VM charges (hourly rows and first hours), refund = first hours
   * given back, credit/debit = grants and adjustments (rows without a kind) by sign.
   * month/since/until apply to when the row was written; until is exclusive.
   */
  private filtered(userId: number, f: LedgerFilter): SelectQueryBuilder<Database, 'credit_ledger', object> {
    let q = this.db.selectFrom('credit_ledger').where('user_id', '=', userId);
    if (f.kind === 'usage') q = q.where('kind', 'in', ['usage', 'first_hour']);
    if (f.kind === 'refund') q = q.where('kind', '=', 'first_hour_refund');
    if (f.kind === 'credit') q = q.where('kind', 'is', null).where('amount', '>', 0);
    if (f.kind === 'debit') q = q.where('kind', 'is', null).where('amount', '<', 0);
    if (f.vm_id !== undefined) q = q.where('vm_id', '=', f.vm_id);
    if (f.month !== undefined) {
      const { start, end } = monthBounds(f.month);
      q = q.where('created_at', '>=', new Date(start).toISOString()).where('created_at', '<', new Date(end).toISOString());
    }
    if (f.since !== undefined) q = q.where('created_at', '>=', new Date(f.since).toISOString());
    if (f.until !== undefined) q = q.where('created_at', '<', new Date(f.until).toISOString());
    // A plain substring, case-insensitive: % and _ in the search are literal.
    if (f.q) q = q.where(anyContains(['reason'], f.q));
    return q;
  }

  async sumForUser(userId: number): Promise<number> {
    const row = await this.db
      .selectFrom('credit_ledger')
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('amount'), eb.lit(0)).as('total'))
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    return Number(row.total);
  }

  /** Adds to the cached balance in one statement (no read-modify-write race); the new balance, or undefined for no such user. */
  async addToBalance(userId: number, amount: number, now: string, db: Db = this.db): Promise<number | undefined> {
    const updated = await db
      .updateTable('users')
      .set((eb) => ({ credits: eb('credits', '+', amount), updated_at: now }))
      .where('id', '=', userId)
      .returning('credits')
      .executeTakeFirst();
    return updated ? Number(updated.credits) : undefined;
  }

  async insert(row: NewLedgerRow, db: Db = this.db): Promise<void> {
    await db.insertInto('credit_ledger').values(row).execute();
  }

  /**
   * Adds to many cached balances in one statement (metering; the deltas go in as one JSON
   * parameter): returns each user's new balance.
   */
  async addToBalances(deltas: Map<number, number>, now: string, db: Db): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    const json = JSON.stringify([...deltas].sort(([a], [b]) => a - b).map(([u, d]) => ({ u, d })));
    const query = isSqlite(db)
      ? sql<{ id: number; credits: number }>`update users set credits = credits + json_extract(j.value, '$.d'), updated_at = ${now} from json_each(${json}) as j
          where users.id = json_extract(j.value, '$.u') returning users.id, users.credits`
      : sql<{ id: number; credits: number }>`update users set credits = credits + v.d, updated_at = cast(${now} as timestamptz) from jsonb_to_recordset(cast(${json} as jsonb)) as v(u integer, d bigint)
          where users.id = v.u returning users.id, users.credits`;
    for (const r of (await query.execute(db)).rows) out.set(r.id, Number(r.credits));
    return out;
  }

  /** Many usage rows in one statement per chunk of thousands (one JSON parameter each). */
  async insertUsage(rows: (NewLedgerRow & { vm_id: number; period: string; hours: number })[], db: Db): Promise<void> {
    for (const part of chunks(rows, 5000)) {
      const json = JSON.stringify(part.map((r) => ({ u: r.user_id, a: r.amount, b: r.balance_after, r: r.reason, c: r.created_at, v: r.vm_id, p: r.period, h: r.hours })));
      const query = isSqlite(db)
        ? sql`insert into credit_ledger (user_id, amount, balance_after, reason, actor_id, created_at, vm_id, kind, period, hours)
            select json_extract(value, '$.u'), json_extract(value, '$.a'), json_extract(value, '$.b'), json_extract(value, '$.r'), null, json_extract(value, '$.c'), json_extract(value, '$.v'), 'usage', json_extract(value, '$.p'), json_extract(value, '$.h') from json_each(${json})`
        : sql`insert into credit_ledger (user_id, amount, balance_after, reason, actor_id, created_at, vm_id, kind, period, hours)
            select v.u, v.a, v.b, v.r, null, v.c, v.v, 'usage', v.p, v.h from jsonb_to_recordset(cast(${json} as jsonb)) as v(u integer, a bigint, b bigint, r text, c timestamptz, v integer, p text, h integer)`;
      await query.execute(db);
    }
  }

  /** The amount of a VM's one-off row of this kind, if there is one. */
  async vmCharge(vmId: number, kind: VmChargeKind, db: Db = this.db): Promise<number | undefined> {
    const row = await db.selectFrom('credit_ledger').select('amount').where('vm_id', '=', vmId).where('kind', '=', kind).executeTakeFirst();
    return row ? Number(row.amount) : undefined;
  }
}
