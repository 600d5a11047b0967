import type { LedgerEntry } from '@twarga/contract';
import type { Db } from '../../db/database.js';

export class LedgerRepository {
  constructor(private readonly db: Db) {}

  async listForUser(userId: number, limit = 200): Promise<LedgerEntry[]> {
    const rows = await this.db
      .selectFrom('credit_ledger')
      .select(['id', 'amount', 'balance_after', 'reason', 'actor_id', 'created_at'])
      .where('user_id', '=', userId)
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ ...r, amount: Number(r.amount), balance_after: Number(r.balance_after) }));
  }

  async sumForUser(userId: number): Promise<number> {
    const row = await this.db
      .selectFrom('credit_ledger')
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('amount'), eb.lit(0)).as('total'))
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    return Number(row.total);
  }
}
