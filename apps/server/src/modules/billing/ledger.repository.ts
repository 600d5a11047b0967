import type { LedgerEntry } from '@twarga/contract';
import type { Db } from '../../db/database.js';

/** One-off charges tied to a VM; at most one row of each kind per VM (unique index). */
export type VmChargeKind = 'first_hour' | 'first_hour_refund';

export interface NewLedgerRow {
  user_id: number;
  amount: number;
  balance_after: number;
  reason: string;
  actor_id: number | null;
  created_at: string;
  vm_id?: number | null;
  kind?: VmChargeKind | null;
}

/** Amounts are bigint on PostgreSQL; period is '' on rows that are not usage. */
export function toLedgerEntry(r: { id: number; amount: number; balance_after: number; reason: string; actor_id: number | null; created_at: string; vm_id: number | null; kind: string | null; hours: number | null; period: string }): LedgerEntry {
  return { ...r, amount: Number(r.amount), balance_after: Number(r.balance_after), period: r.period === '' ? null : r.period };
}

export class LedgerRepository {
  constructor(private readonly db: Db) {}

  async listForUser(userId: number, limit = 200): Promise<LedgerEntry[]> {
    const rows = await this.db
      .selectFrom('credit_ledger')
      .select(['id', 'amount', 'balance_after', 'reason', 'actor_id', 'created_at', 'vm_id', 'kind', 'hours', 'period'])
      .where('user_id', '=', userId)
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map(toLedgerEntry);
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

  /** The amount of a VM's one-off row of this kind, if there is one. */
  async vmCharge(vmId: number, kind: VmChargeKind, db: Db = this.db): Promise<number | undefined> {
    const row = await db.selectFrom('credit_ledger').select('amount').where('vm_id', '=', vmId).where('kind', '=', kind).executeTakeFirst();
    return row ? Number(row.amount) : undefined;
  }
}
