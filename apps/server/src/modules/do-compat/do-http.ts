import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../http/errors.js';
import type { App } from '../../http/types.js';

/** DigitalOcean's error body: what godo and dots-wrapper decode. */
export interface DoErrorBody {
  id: string;
  message: string;
  request_id: string;
}

/** Our error codes as DO's (status, id). Validation and state conflicts are 422s on DO. */
function doError(status: number, code: string | undefined): { status: number; id: string } {
  if (status === 400 && code === 'validation_failed') return { status: 422, id: 'unprocessable_entity' };
  if (status === 409) return { status: 422, id: 'unprocessable_entity' };
  if (code === 'quota_exceeded') return { status: 422, id: 'unprocessable_entity' };
  const ids: Record<number, string> = {
    400: 'bad_request', 401: 'unauthorized', 402: 'payment_required', 403: 'forbidden', 404: 'not_found', 405: 'method_not_allowed',
    413: 'request_entity_too_large', 415: 'unsupported_media_type', 422: 'unprocessable_entity', 429: 'too_many_requests',
    503: 'service_unavailable', 507: 'server_error',
  };
  return { status, id: ids[status] ?? (status >= 500 ? 'server_error' : 'bad_request') };
}

export const doErrorBody = (request: FastifyRequest, id: string, message: string): DoErrorBody => ({ id, message, request_id: String(request.id) });

/** A DO-shaped 4xx a /v2 handler throws directly (e.g. 422 for an unknown region). */
export const unprocessable = (message: string) => new AppError(422, 'validation_failed', message);

/**
 * /v2's error handling (encapsulated in its plugin): every failure leaves in DO's shape, the
 * guard's 401/403 and the rate limit's 429 included (Fastify hands a hook's error to the
 * route's own handler).
 */
export function registerDoErrors(app: App): void {
  app.setErrorHandler((err: FastifyError | AppError, request, reply) => {
    if (err instanceof AppError) {
      if (err.headers) reply.headers(err.headers);
      const mapped = doError(err.statusCode, err.code);
      const detail = err.details?.length ? ` (${err.details.map((d) => `${d.field} ${d.message}`).join('; ')})` : '';
      return reply.status(mapped.status).send(doErrorBody(request, mapped.id, err.message + detail));
    }
    if (err.validation) {
      const summary = err.validation.map((v) => `${v.instancePath.replace(/^\//, '').replaceAll('/', '.') || err.validationContext} ${v.message}`).join('; ');
      return reply.status(422).send(doErrorBody(request, 'unprocessable_entity', `Invalid request: ${summary}`));
    }
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) return reply.status(status).send(doErrorBody(request, doError(status, undefined).id, err.message));
    request.log.error({ err }, 'unhandled error');
    return reply.status(500).send(doErrorBody(request, 'server_error', 'Server Error'));
  });
  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send(doErrorBody(request, 'not_found', 'The resource you were accessing could not be found.'));
  });
}

/**
 * DO's rate-limit headers on every /v2 answer: RateLimit-Limit, RateLimit-Remaining and
 * RateLimit-Reset (a Unix time, as godo reads it). @fastify/rate-limit counts and sets its
 * x-ratelimit-* headers (reset in seconds from now); this renames them.
 */
export function registerDoRateLimitHeaders(app: App): void {
  app.addHook('onSend', (_request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: null, payload: unknown) => void) => {
    const limit = reply.getHeader('x-ratelimit-limit');
    if (limit !== undefined) {
      const resetIn = Number(reply.getHeader('x-ratelimit-reset') ?? 0);
      reply.header('RateLimit-Limit', limit);
      reply.header('RateLimit-Remaining', reply.getHeader('x-ratelimit-remaining'));
      reply.header('RateLimit-Reset', Math.floor(Date.now() / 1000) + resetIn);
      for (const h of ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset']) reply.removeHeader(h);
    }
    done(null, payload);
  });
}

/** Every /v2 route's config: who may call it (the hourly budget is one limiter for all of /v2, see doRateLimit). */
export function doRouteConfig() {
  return (access: 'public' | 'user' | 'admin' = 'user') => ({ access });
}
export type DoRouteConfig = ReturnType<typeof doRouteConfig>;

/**
 * DO's budget: one hourly counter per user (per address before login) shared by every /v2 and
 * /v1 route, as DO counts requests per account, not per endpoint. @fastify/rate-limit's per-route
 * config keeps a counter per route, so this is one handler of its, added as a hook.
 */
export function doRateLimit(app: App, perHour: number) {
  return app.rateLimit({
    max: perHour,
    timeWindow: '1 hour',
    keyGenerator: (request: FastifyRequest) => (request.identity ? `do-user:${request.identity.user.id}` : `do-ip:${request.ip}`),
  });
}
