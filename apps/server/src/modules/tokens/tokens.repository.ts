import type { ApiToken, TokenScope } from '@twarga/contract';
import type { Db } from '../../db/database.js';
import type { UserChanges } from '../../lib/user-changes.js';

export interface TokenRecord {
  id: number;
  user_id: number;
  scope: TokenScope;
  expires_at: string | null;
  last_used_at: string | null;
}

const PUBLIC_COLUMNS = ['id', 'name', 'scope', 'prefix', 'created_at', 'expires_at', 'last_used_at'] as const;

export class TokensRepository {
  constructor(
    private readonly db: Db,
    private readonly changes: UserChanges,
  ) {}

  async insert(t: {
    userId: number;
    name: string;
    tokenHash: string;
    prefix: string;
    scope: TokenScope;
    now: string;
    expiresAt: string | null;
  }): Promise<ApiToken> {
    return this.db
      .insertInto('api_tokens')
      .values({
        user_id: t.userId,
        name: t.name,
        token_hash: t.tokenHash,
        prefix: t.prefix,
        scope: t.scope,
        created_at: t.now,
        expires_at: t.expiresAt,
        last_used_at: null,
        revoked_at: null,
      })
      .returning(PUBLIC_COLUMNS)
      .executeTakeFirstOrThrow();
  }

  listForUser(userId: number): Promise<ApiToken[]> {
    return this.db
      .selectFrom('api_tokens')
      .select(PUBLIC_COLUMNS)
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .orderBy('id', 'desc')
      .execute();
  }

  /** A usable token: not revoked, not expired. */
  findLive(tokenHash: string, now: string): Promise<TokenRecord | undefined> {
    return this.db
      .selectFrom('api_tokens')
      .select(['id', 'user_id', 'scope', 'expires_at', 'last_used_at'])
      .where('token_hash', '=', tokenHash)
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .executeTakeFirst();
  }

  async touch(id: number, now: string): Promise<void> {
    await this.db.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', id).execute();
  }

  /** Revokes the user's own token; returns its name, or undefined if there was none to revoke. */
  async revoke(userId: number, id: number, now: string): Promise<string | undefined> {
    const row = await this.db
      .updateTable('api_tokens')
      .set({ revoked_at: now })
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .returning('name')
      .executeTakeFirst();
    if (row) this.changes.notify(userId);
    return row?.name;
  }
}
