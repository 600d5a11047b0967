import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CSRF_HEADER, SESSION_COOKIE } from '@twarga/contract';
import type { AuthService } from '../modules/auth/auth.service.js';
import type { EventsService } from '../modules/events/events.service.js';
import { hmac, safeEqual } from '../lib/secrets.js';
import { AppError, forbidden, unauthorized } from './errors.js';
import type { Access } from './types.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Routes outside /api (pages, assets) and the API docs are public unless they say otherwise. */
function defaultAccess(url: string): Access | undefined {
  if (!url.startsWith('/api/')) return 'public';
  if (url === '/api/openapi.json' || url.startsWith('/api/docs')) return 'public';
  return undefined;
}

export const csrfTokenFor = (csrfKey: string, credentialHash: string) => hmac(csrfKey, `csrf:${credentialHash}`);

/** Every 403 is a security event: who, what, from where. */
export async function recordAccessDenied(events: EventsService, request: FastifyRequest, reason: string): Promise<void> {
  const user = request.identity?.user;
  await events.record({
    type: 'security',
    severity: 'warning',
    action: 'access.denied',
    message: `403 on ${request.method} ${request.routeOptions.url ?? request.url}: ${reason}`,
    userId: user?.id,
    username: user?.username,
    sourceIp: request.ip,
    details: { method: request.method, path: request.url.split('?')[0], reason },
  });
}

/**
 * Authentication and authorisation for every request, in one place:
 * resolves the caller (Bearer header first, then the session cookie), then enforces the
 * route's declared access, token scope and CSRF for cookie-authenticated writes.
 */
export function registerGuard(app: FastifyInstance, deps: { auth: AuthService; events: EventsService; csrfKey: string }): void {
  app.decorateRequest('identity', null);

  app.addHook('onRoute', (route) => {
    route.config ??= {};
    const config = route.config as { access?: Access };
    config.access ??= defaultAccess(route.url);
    if (!config.access) throw new Error(`route ${route.method} ${route.url} does not declare its access`);
  });

  const deny = async (request: FastifyRequest, reason: string, message: string, code: 'forbidden' | 'csrf_failed' = 'forbidden') => {
    await recordAccessDenied(deps.events, request, reason);
    return code === 'csrf_failed' ? new AppError(403, 'csrf_failed', message) : forbidden(message);
  };

  app.addHook('onRequest', async (request) => {
    if (request.is404) return;
    const access = (request.routeOptions.config as { access?: Access }).access ?? 'user';
    const header = request.headers.authorization;
    const bearer = header?.match(/^Bearer\s+(\S+)$/i)?.[1];
    const cookie = request.cookies?.[SESSION_COOKIE];
    const credential = bearer ?? cookie;
    if (credential) request.identity = (await deps.auth.authenticate(credential, !bearer)) ?? null;

    if (access === 'public') return;
    const identity = request.identity;
    if (!identity) throw unauthorized(credential ? 'Invalid, expired or revoked credentials' : 'Authentication required');

    if (!SAFE_METHODS.has(request.method)) {
      if (identity.scope === 'read') throw await deny(request, 'read_only_token', 'This API token is read-only');
      if (identity.fromCookie) {
        const sent = request.headers[CSRF_HEADER];
        const expected = csrfTokenFor(deps.csrfKey, identity.credentialHash);
        if (typeof sent !== 'string' || !safeEqual(sent, expected)) {
          throw await deny(request, 'csrf', 'Missing or invalid CSRF token', 'csrf_failed');
        }
      }
    }
    if (access === 'admin' && !identity.user.is_admin) throw await deny(request, 'admin_only', 'Administrator access required');
  });
}
