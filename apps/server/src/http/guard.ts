import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CSRF_HEADER, SESSION_COOKIE } from '@twarga/contract';
import type { AuthService } from '../modules/auth/auth.service.js';
import type { EventLog } from '../modules/events/event-log.js';
import { hmac, safeEqual } from '../lib/secrets.js';
import { AppError, forbidden, unauthorized } from './errors.js';
import type { Access } from './types.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const SECURITY_HEADERS = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'same-origin', 'x-frame-options': 'DENY' };

/**
 * Where @fastify/swagger-ui serves the API docs (its page, assets, /json and /yaml). That plugin
 * takes no route config, so its routes are the one exception to "every route declares its
 * access": public, and only for routes under this prefix.
 */
export const DOCS_PREFIX = '/api/docs';
const isDocsRoute = (url: string) => url === DOCS_PREFIX || url.startsWith(`${DOCS_PREFIX}/`);

export const csrfTokenFor = (csrfKey: string, credentialHash: string) => hmac(csrfKey, `csrf:${credentialHash}`);

/** Every 403 is a security event: who, what, from where. */
export async function recordAccessDenied(events: EventLog, request: FastifyRequest, reason: string): Promise<void> {
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
export function registerGuard(app: FastifyInstance, deps: { auth: AuthService; events: EventLog; csrfKey: string }): void {
  app.decorateRequest('identity', null);

  // Every route says who may use it (`config: { access }`): pages, /health, /metrics and the
  // websockets as much as the API. A route that does not stops the server from starting, so no
  // route is public by omission.
  app.addHook('onRoute', (route) => {
    route.config ??= {};
    const config = route.config as { access?: Access };
    if (config.access === undefined && isDocsRoute(route.url)) config.access = 'public';
    if (!config.access) throw new Error(`route ${[route.method].flat().join(',')} ${route.url} does not declare its access (config: { access })`);
  });

  /** Returns the reason the caller may not proceed, or undefined when they may. */
  const check = (request: FastifyRequest, access: Access, hadCredential: boolean): AppError | { reason: string; error: AppError } | undefined => {
    if (access === 'public') return undefined;
    const identity = request.identity;
    if (!identity) return unauthorized(hadCredential ? 'Invalid, expired or revoked credentials' : 'Authentication required');
    if (!SAFE_METHODS.has(request.method)) {
      if (identity.scope === 'read') return { reason: 'read_only_token', error: forbidden('This API token is read-only') };
      if (identity.fromCookie) {
        const sent = request.headers[CSRF_HEADER];
        const expected = csrfTokenFor(deps.csrfKey, identity.credentialHash);
        if (typeof sent !== 'string' || !safeEqual(sent, expected)) {
          return { reason: 'csrf', error: new AppError(403, 'csrf_failed', 'Missing or invalid CSRF token') };
        }
      }
    }
    if (access === 'admin' && !identity.user.is_admin) return { reason: 'admin_only', error: forbidden('Administrator access required') };
    return undefined;
  };

  // Callback style, not async: on the hot path (a cached credential) nothing here awaits.
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers({ 'x-request-id': request.id, ...SECURITY_HEADERS });
    if (request.is404) return done();
    const access = (request.routeOptions.config as { access?: Access }).access ?? 'user';
    const bearer = request.headers.authorization?.match(/^Bearer\s+(\S+)$/i)?.[1];
    // Cookies are parsed here, only when there is no bearer (the cookie plugin's hook is off).
    const cookieHeader = bearer ? undefined : request.headers.cookie;
    const credential = bearer ?? (cookieHeader ? app.parseCookie(cookieHeader)[SESSION_COOKIE] : undefined);
    const finish = () => {
      const problem = check(request, access, credential !== undefined);
      if (!problem) return done();
      if (problem instanceof AppError) return done(problem);
      recordAccessDenied(deps.events, request, problem.reason).then(() => done(problem.error), done);
    };
    if (!credential) return finish();
    const known = deps.auth.cachedIdentity(credential, !bearer);
    if (known !== undefined) {
      request.identity = known;
      return finish();
    }
    deps.auth.authenticate(credential, !bearer).then((identity) => {
      request.identity = identity ?? null;
      finish();
    }, done);
  });
}
