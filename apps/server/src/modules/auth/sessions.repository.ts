import type { Db } from '../../db/database.js';
import type { UserChanges } from '../../lib/user-changes.js';

export interface SessionRecord {
  id: number;
  user_id: number;
  expires_at: string;
  last_seen_at: string;
}

export class SessionsRepository {
  constructor(
    private readonly db: Db,
    private readonly changes: UserChanges,
  ) {}

  async insert(s: {
    userId: number;
    tokenHash: string;
    now: string;
    expiresAt: string;
    sourceIp: string | null;
    userAgent: string | null;
  }): Promise<number> {
    const row = await this.db
      .insertInto('sessions')
      .values({
        user_id: s.userId,
        token_hash: s.tokenHash,
        created_at: s.now,
        expires_at: s.expiresAt,
        last_seen_at: s.now,
        revoked_at: null,
        source_ip: s.sourceIp,
        user_agent: s.userAgent?.slice(0, 512) ?? null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  /** A live session: not revoked and not expired. */
  findLive(tokenHash: string, now: string): Promise<SessionRecord | undefined> {
    return this.db
      .selectFrom('sessions')
      .select(['id', 'user_id', 'expires_at', 'last_seen_at'])
      .where('token_hash', '=', tokenHash)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
  }

  async touch(id: number, now: string): Promise<void> {
    await this.db.updateTable('sessions').set({ last_seen_at: now }).where('id', '=', id).execute();
  }

  async revoke(id: number, now: string): Promise<void> {
    const row = await this.db.updateTable('sessions').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).returning('user_id').executeTakeFirst();
    if (row) this.changes.notify(row.user_id);
  }

  /** Ends every session of a user but one (after a password change). */
  async revokeAllForUser(userId: number, now: string, exceptId?: number): Promise<void> {
    let q = this.db.updateTable('sessions').set({ revoked_at: now }).where('user_id', '=', userId).where('revoked_at', 'is', null);
    if (exceptId !== undefined) q = q.where('id', '!=', exceptId);
    await q.execute();
    this.changes.notify(userId);
  }
}
