import { identityOf, type App } from '../../http/types.js';
import type { DoRoutesOptions } from './wiring.js';

/**
 * GET /v1/oauth/token/info: what `doctl auth init --token-validation-server <ours>` asks to check
 * a token (doctl's do/oauth.go decodes resource_owner_id, scopes, expires_in_seconds,
 * application.uid, created_at; any 2xx with that body is a valid token, a 401 is not).
 */
export async function tokenInfoRoutes(app: App, { deps, route }: DoRoutesOptions) {
  app.get('/oauth/token/info', {
    config: route('user'),
    schema: { tags: ['do-compat'], summary: "DO: the bearer token's owner, scopes and expiry (doctl auth init)" },
    handler: async (request) => {
      const identity = identityOf(request);
      const now = deps.clock.now().getTime();
      // A personal API token: its row says when it was made and when it ends. A session has no such row here: null.
      const token = identity.via === 'api_token' && identity.tokenId !== undefined ? (await deps.tokens.list(identity)).find((t) => t.id === identity.tokenId) : undefined;
      const expiresAt = token?.expires_at ? Date.parse(token.expires_at) : null;
      return {
        resource_owner_id: identity.user.id,
        scopes: identity.scope === 'read' ? ['read'] : ['read', 'write'],
        // null: the token does not expire (DO's own answer for non-expiring tokens decodes the same: 0).
        expires_in_seconds: expiresAt === null ? null : Math.max(0, Math.floor((expiresAt - now) / 1000)),
        application: { uid: '' },
        created_at: token ? Math.floor(Date.parse(token.created_at) / 1000) : null,
      };
    },
  });
}
