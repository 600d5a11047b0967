import type { ApiToken, CreateTokenRequest, CreatedApiToken, RevokedTokens } from '@twarga/contract';
import { Mutex } from 'async-mutex';
import type { ExclusiveLock } from '../../lib/cluster-lock.js';
import { AppError, forbidden, notFound, quotaExceeded } from '../../http/errors.js';
import { hashToken, newToken } from '../../lib/secrets.js';
import type { Clock } from '../../lib/time.js';
import type { Identity, RequestContext } from '../auth/identity.js';
import type { EventLog } from '../events/event-log.js';
import type { TokensRepository } from './tokens.repository.js';

export interface TokensPolicy {
  /** Live (unrevoked, unexpired) tokens a user may hold at once. */
  maxTokensPerUser: number;
}

const DAY_MS = 86_400_000;

export class TokensService {
  constructor(
    private readonly repo: TokensRepository,
    private readonly events: EventLog,
    private readonly clock: Clock,
    private readonly policy: TokensPolicy,
    /** The quota check reads what exists, then the insert adds to it: one at a time, across server processes. */
    private readonly admission: ExclusiveLock = new Mutex(),
  ) {}

  list(identity: Identity): Promise<ApiToken[]> {
    return this.repo.listForUser(identity.user.id);
  }

  async create(identity: Identity, input: CreateTokenRequest, ctx: RequestContext): Promise<CreatedApiToken> {
    const now = this.clock.now();
    const expiresAt = input.expires_in_days ? new Date(now.getTime() + input.expires_in_days * DAY_MS).toISOString() : null;
    await this.checkWithinParent(identity, input, expiresAt, now);
    const token = newToken('twp');
    const created = await this.admission.runExclusive(async () => {
      const live = await this.repo.countLive(identity.user.id, now.toISOString());
      if (live >= this.policy.maxTokensPerUser) {
        throw quotaExceeded(`at most ${this.policy.maxTokensPerUser} API tokens per user; revoke one you no longer use`);
      }
      return this.repo.insert({
        userId: identity.user.id,
        name: input.name.trim(),
        tokenHash: hashToken(token),
        prefix: token.slice(0, 12),
        scope: input.scope,
        now: now.toISOString(),
        expiresAt,
      });
    });
    await this.events.record({ type: 'auth', action: 'token.created', message: `API token "${created.name}" (${created.scope}) created`, userId: identity.user.id, username: identity.user.username, sourceIp: ctx.ip, details: { token_id: created.id, scope: created.scope, expires_at: expiresAt, via: identity.via, ...(identity.tokenId !== undefined ? { parent_token_id: identity.tokenId } : {}) } });
    return { ...created, token };
  }

  /**
   * A token may mint tokens, but none that reach further than itself: not a wider scope and not
   * a longer life. Otherwise a leaked short-lived token would buy an attacker a permanent one.
   * A session (a logged-in user) may create anything.
   */
  private async checkWithinParent(identity: Identity, input: CreateTokenRequest, expiresAt: string | null, now: Date): Promise<void> {
    if (identity.via !== 'api_token' || identity.tokenId === undefined) return;
    const parent = await this.repo.findForUser(identity.user.id, identity.tokenId);
    if (!parent) throw forbidden('The token making this request no longer exists');
    if (parent.scope === 'read' && input.scope !== 'read') {
      throw new AppError(403, 'forbidden', 'A read-only token cannot create a read-write token', [{ field: 'scope', message: 'must not be wider than the scope of the token making the request' }]);
    }
    if (parent.expires_at === null) return;
    const parentEnd = Date.parse(parent.expires_at);
    if (expiresAt !== null && Date.parse(expiresAt) <= parentEnd) return;
    const maxDays = Math.floor((parentEnd - now.getTime()) / DAY_MS);
    const hint = maxDays >= 1 ? `set expires_in_days to at most ${maxDays}` : 'log in to create a longer-lived token';
    throw new AppError(403, 'forbidden', `This token expires at ${parent.expires_at}; a token it creates must not outlive it: ${hint}`, [
      { field: 'expires_in_days', message: maxDays >= 1 ? `must be at most ${maxDays} (the requesting token expires at ${parent.expires_at})` : `the requesting token expires at ${parent.expires_at}` },
    ]);
  }

  async revoke(identity: Identity, id: number, ctx: RequestContext): Promise<void> {
    const name = await this.repo.revoke(identity.user.id, id, this.clock.now().toISOString());
    // Someone else's token and a missing one look the same: 404.
    if (name === undefined) throw notFound('API token');
    await this.events.record({ type: 'auth', action: 'token.revoked', message: `API token "${name}" revoked`, userId: identity.user.id, username: identity.user.username, sourceIp: ctx.ip, details: { token_id: id } });
  }

  /** The panic button: every token of the user stops working at once (the calling one too). */
  async revokeAll(identity: Identity, ctx: RequestContext): Promise<RevokedTokens> {
    const revoked = await this.repo.revokeAllForUser(identity.user.id, this.clock.now().toISOString());
    await this.events.record({ type: 'auth', action: 'token.revoked_all', message: `All API tokens revoked (${revoked})`, userId: identity.user.id, username: identity.user.username, sourceIp: ctx.ip, details: { revoked, via: identity.via } });
    return { revoked };
  }
}
