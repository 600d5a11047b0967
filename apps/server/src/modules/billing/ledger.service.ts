import { AppError, notFound } from '../../http/errors.js';
import type { Db } from '../../db/database.js';
import type { UserChanges } from '../../lib/user-changes.js';

export interface CreditChange {
  userId: number;
  amount: number;
  reason: string;
  /** The admin who made the change; null for the system (sign-up grant, billing). */
  actorId: number | null;
  now: string;
}

/**
 * The only code that changes a balance: it appends a ledger row and updates the cached
 * balance in the same transaction, so the two can never disagree.
 */
export class LedgerService {
  constructor(
    private readonly db: Db,
    private readonly changes: UserChanges,
  ) {}

  /** Pass `trx` to make the change part of a larger transaction. */
  async apply(change: CreditChange, options: { allowNegative?: boolean; trx?: Db } = {}): Promise<number> {
    const balance = await applyCreditChange(options.trx ?? this.db, change, options);
    this.changes.notify(change.userId);
    return balance;
  }
}

async function applyCreditChange(
  db: Db,
  change: CreditChange,
  options: { allowNegative?: boolean } = {},
): Promise<number> {
  const run = async (trx: Db) => {
    const updated = await trx
      .updateTable('users')
      .set((eb) => ({ credits: eb('credits', '+', change.amount), updated_at: change.now }))
      .where('id', '=', change.userId)
      .returning('credits')
      .executeTakeFirst();
    if (!updated) throw notFound('User');
    const balance = Number(updated.credits);
    if (balance < 0 && !options.allowNegative) {
      throw new AppError(409, 'conflict', `Balance would become negative (${balance})`);
    }
    await trx
      .insertInto('credit_ledger')
      .values({
        user_id: change.userId,
        amount: change.amount,
        balance_after: balance,
        reason: change.reason,
        actor_id: change.actorId,
        created_at: change.now,
      })
      .execute();
    return balance;
  };
  return db.isTransaction ? run(db) : db.transaction().execute(run);
}
