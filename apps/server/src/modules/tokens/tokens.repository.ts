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

  /** One of the user's tokens, revoked or not: what a token may pass on to the tokens it creates. */
  findForUser(userId: number, id: number): Promise<Pick<TokenRecord, 'scope' | 'expires_at'> | undefined> {
    return this.db
      .selectFrom('api_tokens')
      .select(['scope', 'expires_at'])
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .executeTakeFirst();
  }

  /** Tokens that still work (not revoked, not expired): what the per-user limit counts. */
  async countLive(userId: number, now: string): Promise<number> {
    const row = await this.db
      .selectFrom('api_tokens')
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .executeTakeFirstOrThrow();
    return Number(row.n);
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

  /** Revokes every token the user has; returns how many. Live requests using them end (UserChanges). */
  async revokeAllForUser(userId: number, now: string): Promise<number> {
    const rows = await this.db
      .updateTable('api_tokens')
      .set({ revoked_at: now })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .returning('id')
      .execute();
    if (rows.length) this.changes.notify(userId);
    return rows.length;
  }
}
