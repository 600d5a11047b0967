import { Type } from '@sinclair/typebox';
import {
  ChangePasswordRequest,
  CSRF_COOKIE,
  LoginRequest,
  LoginResponse,
  RegisterRequest,
  SESSION_COOKIE,
  User,
} from '@twarga/contract';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { csrfTokenFor, recordAccessDenied } from '../../http/guard.js';
import { crossSiteReason } from '../../http/origin.js';
import { hashToken as hashOf } from '../../lib/secrets.js';
import { contextOf, identityOf, type App } from '../../http/types.js';
import { AppError, errorResponses } from '../../http/errors.js';
import type { EventLog } from '../events/event-log.js';
import type { AuthService } from './auth.service.js';

export interface AuthRouteOptions {
  auth: AuthService;
  events: EventLog;
  csrfKey: string;
  secureCookies: boolean;
  loginRateLimitPerMinute: number;
  registerRateLimitPerHour: number;
}


export async function authRoutes(app: App, opts: AuthRouteOptions) {
  const { auth } = opts;
  const cookieBase = { path: '/', sameSite: 'strict' as const, secure: opts.secureCookies };

  /**
   * Login and registration carry no CSRF token (there is no session yet), so another site's page
   * could post a form to them and log the victim into the attacker's account (login CSRF).
   * Browsers tell us where a request comes from; clients that are not browsers send neither header.
   */
  const sameSiteOnly = async (request: FastifyRequest) => {
    const reason = crossSiteReason(request.headers as { origin?: string; 'sec-fetch-site'?: string }, request.server.origins);
    if (!reason) return;
    await recordAccessDenied(opts.events, request, `cross_site: ${reason}`);
    throw new AppError(403, 'csrf_failed', `Cross-site request refused: ${reason}`);
  };

  app.post('/api/auth/register', {
    config: { access: 'public', rateLimit: { max: opts.registerRateLimitPerHour, timeWindow: '1 hour' } },
    onRequest: sameSiteOnly,
    schema: { tags: ['auth'], summary: 'Create an account', body: RegisterRequest, response: { 201: User, ...errorResponses } },
    handler: async (request, reply) => reply.status(201).send(await auth.register(request.body, contextOf(request))),
  });

  app.post('/api/auth/login', {
    config: { access: 'public', rateLimit: { max: opts.loginRateLimitPerMinute, timeWindow: '1 minute' } },
    onRequest: sameSiteOnly,
    schema: {
      tags: ['auth'],
      summary: 'Log in (JSON or form-urlencoded)',
      description:
        'Returns a bearer access token. With `cookie: true` (the web UI) it sets an httpOnly session cookie instead and returns the CSRF token to send in the X-CSRF-Token header on writes.',
      body: LoginRequest,
      response: { 200: LoginResponse, ...errorResponses },
    },
    handler: async (request, reply) => {
      const { username, password, cookie } = request.body;
      const session = await auth.login(username, password, contextOf(request));
      if (!cookie) return { access_token: session.token, token_type: 'bearer' as const, expires_at: session.expiresAt };
      const expires = new Date(session.expiresAt);
      const csrf = csrfTokenFor(opts.csrfKey, hashOf(session.token));
      reply.setCookie(SESSION_COOKIE, session.token, { ...cookieBase, httpOnly: true, expires });
      reply.setCookie(CSRF_COOKIE, csrf, { ...cookieBase, httpOnly: false, expires });
      return { token_type: 'cookie' as const, expires_at: session.expiresAt, csrf_token: csrf, user: session.user };
    },
  });

  app.post('/api/auth/logout', {
    config: { access: 'user' },
    schema: { tags: ['auth'], summary: 'Revoke the session (or API token) used for this request', response: { 204: Type.Null(), ...errorResponses } },
    handler: async (request, reply) => {
      await auth.logout(identityOf(request), contextOf(request));
      clearCookies(reply, cookieBase);
      return reply.status(204).send(null);
    },
  });

  app.get('/api/auth/me', {
    config: { access: 'user' },
    schema: { tags: ['auth'], summary: 'The current user', response: { 200: User, ...errorResponses } },
    handler: async (request) => identityOf(request).user,
  });

  app.post('/api/auth/password', {
    config: { access: 'user', rateLimit: { max: opts.loginRateLimitPerMinute, timeWindow: '1 minute' } },
    schema: {
      tags: ['auth'],
      summary: 'Change password (ends every other session)',
      body: ChangePasswordRequest,
      response: { 204: Type.Null(), ...errorResponses },
    },
    handler: async (request, reply) => {
      const { current_password, new_password } = request.body;
      await auth.changePassword(identityOf(request), current_password, new_password, contextOf(request));
      return reply.status(204).send(null);
    },
  });
}

function clearCookies(reply: FastifyReply, base: { path: string }) {
  reply.clearCookie(SESSION_COOKIE, base);
  reply.clearCookie(CSRF_COOKIE, base);
}
