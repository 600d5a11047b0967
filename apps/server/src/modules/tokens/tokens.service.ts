import type { ApiToken, CreateTokenRequest, CreatedApiToken } from '@twarga/contract';
import { notFound } from '../../http/errors.js';
import { hashToken, newToken } from '../../lib/secrets.js';
import type { Clock } from '../../lib/time.js';
import type { Identity, RequestContext } from '../auth/identity.js';
import type { EventsService } from '../events/events.service.js';
import type { TokensRepository } from './tokens.repository.js';

export class TokensService {
  constructor(
    private readonly repo: TokensRepository,
    private readonly events: EventsService,
    private readonly clock: Clock,
  ) {}

  list(identity: Identity): Promise<ApiToken[]> {
    return this.repo.listForUser(identity.user.id);
  }

  async create(identity: Identity, input: CreateTokenRequest, ctx: RequestContext): Promise<CreatedApiToken> {
    const now = this.clock.now();
    const token = newToken('twp');
    const expiresAt = input.expires_in_days ? new Date(now.getTime() + input.expires_in_days * 86_400_000).toISOString() : null;
    const created = await this.repo.insert({
      userId: identity.user.id,
      name: input.name.trim(),
      tokenHash: hashToken(token),
      prefix: token.slice(0, 12),
      scope: input.scope,
      now: now.toISOString(),
      expiresAt,
    });
    await this.events.record({ type: 'auth', action: 'token.created', message: `API token "${created.name}" (${created.scope}) created`, userId: identity.user.id, username: identity.user.username, sourceIp: ctx.ip, details: { token_id: created.id, scope: created.scope, expires_at: expiresAt } });
    return { ...created, token };
  }

  async revoke(identity: Identity, id: number, ctx: RequestContext): Promise<void> {
    const name = await this.repo.revoke(identity.user.id, id, this.clock.now().toISOString());
    // Someone else's token and a missing one look the same: 404.
    if (name === undefined) throw notFound('API token');
    await this.events.record({ type: 'auth', action: 'token.revoked', message: `API token "${name}" revoked`, userId: identity.user.id, username: identity.user.username, sourceIp: ctx.ip, details: { token_id: id } });
  }
}
