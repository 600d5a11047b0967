import { sql } from 'kysely';
import type { Db } from '../../db/database.js';

export interface LoginFailureRecord {
  failures: number;
  locked_until: string | null;
}

/** Failed-login counters per (account key, source). All SQL for the lockout lives here. */
export class LoginFailuresRepository {
  constructor(private readonly db: Db) {}

  async find(accountKey: string, source: string): Promise<LoginFailureRecord | undefined> {
    return this.db
      .selectFrom('login_failures')
      .select(['failures', 'locked_until'])
      .where('account_key', '=', accountKey)
      .where('source_ip', '=', source)
      .executeTakeFirst();
  }

  /**
   * Counts one more failure and returns the count, atomically (one upsert). Failures older than
   * windowStart no longer count: the run starts again at 1.
   */
  async recordFailure(accountKey: string, source: string, now: string, windowStart: string): Promise<number> {
    const row = await this.db
      .insertInto('login_failures')
      .values({ account_key: accountKey, source_ip: source, failures: 1, locked_until: null, last_failed_at: now })
      .onConflict((oc) =>
        oc.columns(['account_key', 'source_ip']).doUpdateSet({
          failures: sql<number>`CASE WHEN login_failures.last_failed_at < ${windowStart} THEN 1 ELSE login_failures.failures + 1 END`,
          last_failed_at: now,
        }),
      )
      .returning('failures')
      .executeTakeFirstOrThrow();
    return row.failures;
  }

  /** Locks the pair until the given time; the count starts again after the lock. */
  async lock(accountKey: string, source: string, until: string): Promise<void> {
    await this.db
      .updateTable('login_failures')
      .set({ failures: 0, locked_until: until })
      .where('account_key', '=', accountKey)
      .where('source_ip', '=', source)
      .execute();
  }

  async clear(accountKey: string, source: string): Promise<void> {
    await this.db.deleteFrom('login_failures').where('account_key', '=', accountKey).where('source_ip', '=', source).execute();
  }

  /** Forgets runs that ended before the cut-off and locks that are over, so the table stays small. */
  async prune(before: string, now: string): Promise<void> {
    await this.db
      .deleteFrom('login_failures')
      .where('last_failed_at', '<', before)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', now)]))
      .execute();
  }
}
