import type { FastifyError, FastifyInstance } from 'fastify';
import { ErrorBody as ErrorBodySchema, type ErrorBody, type ErrorCode } from '@twarga/contract';
import { isDatabaseUnavailable } from '../db/database.js';
import { isDiskFull, type StorageAlarm } from '../lib/disk-space.js';

type Detail = { field: string; message: string };

/** An error the client caused or may act on; becomes the documented error body. */
export class AppError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: Detail[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const badRequest = (message: string, details?: Detail[]) =>
  new AppError(400, 'validation_failed', message, details);
export const unauthorized = (message = 'Authentication required') => new AppError(401, 'unauthorized', message);
export const forbidden = (message = 'You do not have permission to do this') => new AppError(403, 'forbidden', message);
export const notFound = (what = 'Resource') => new AppError(404, 'not_found', `${what} not found`);
/** A per-user limit (VMs, RAM, disk, keys, tokens): 403, like every quota in this API. */
export const quotaExceeded = (what: string) => new AppError(403, 'quota_exceeded', `Quota exceeded: ${what}`);
export const conflict = (message: string, details?: Detail[]) => new AppError(409, 'conflict', message, details);

/** Maps ajv's validation errors to {field, message} pairs a form can show. */
function validationDetails(err: FastifyError): Detail[] {
  return (err.validation ?? []).map((v) => {
    const missing = (v.params as { missingProperty?: string })?.missingProperty;
    const extra = (v.params as { additionalProperty?: string })?.additionalProperty;
    const base = v.instancePath.replace(/^\//, '').replaceAll('/', '.');
    const field = missing ?? extra ?? (base || (err.validationContext ?? 'body'));
    const message = extra ? 'is not an allowed field' : missing ? 'is required' : v.message ?? 'is invalid';
    return { field, message };
  });
}

/** What a 503 for an unreachable database tells clients to wait before retrying. */
const DATABASE_RETRY_SECONDS = 5;

/** Every 4xx/5xx leaves as {code, message, request_id, details?}; 5xx never shows internals. */
export function registerErrorHandling(app: FastifyInstance, options: { storageAlarm?: StorageAlarm } = {}): void {
  app.setErrorHandler((err: FastifyError | AppError, request, reply) => {
    const send = (status: number, body: Omit<ErrorBody, 'request_id'>) =>
      reply.status(status).send({ ...body, request_id: String(request.id) } satisfies ErrorBody);

    if (err instanceof AppError) {
      if (err.headers) reply.headers(err.headers);
      return send(err.statusCode, { code: err.code, message: err.message, details: err.details });
    }
    if (err.validation) {
      const details = validationDetails(err);
      const summary = details.map((d) => `${d.field} ${d.message}`).join('; ');
      return send(400, { code: 'validation_failed', message: `Invalid request: ${summary}`, details });
    }
    const status = err.statusCode ?? 500;
    if (status === 413) return send(413, { code: 'payload_too_large', message: 'Request body is too large' });
    if (status === 415) return send(415, { code: 'unsupported_media_type', message: err.message });
    if (status >= 400 && status < 500) {
      return send(status, { code: status === 404 ? 'not_found' : 'validation_failed', message: err.message });
    }
    if (isDiskFull(err)) {
      // The cause stays in the log; the client learns what it can act on (retry later, tell an admin).
      request.log.error({ err }, 'storage full');
      options.storageAlarm?.note(err);
      return send(507, { code: 'insufficient_storage', message: 'The server is out of storage space, so this request could not be completed. Try again later or tell an administrator.' });
    }
    if (isDatabaseUnavailable(err)) {
      // Not a bug: PostgreSQL is stopped, restarting or unreachable. The pool reconnects by itself once it is back.
      request.log.warn({ err }, 'database unavailable');
      reply.header('retry-after', String(DATABASE_RETRY_SECONDS));
      return send(503, { code: 'service_unavailable', message: 'The database is unavailable right now, so this request could not be completed. Try again in a few seconds.' });
    }
    request.log.error({ err }, 'unhandled error');
    return send(500, { code: 'internal_error', message: 'Internal server error' });
  });

  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send({
      code: 'not_found',
      message: `No route for ${request.method} ${request.url.split('?')[0]}`,
      request_id: String(request.id),
    } satisfies ErrorBody);
  });
}

/** Response schemas every API route documents for its failures. */
export const errorResponses = { '4xx': ErrorBodySchema, '5xx': ErrorBodySchema };
