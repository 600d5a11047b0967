import type { FastifyRequest } from 'fastify';
import type { Access } from '../../http/types.js';
import type { NewAuditRow } from './audit.repository.js';

/** Keys whose values never reach the audit log (passwords, webhook secrets, tokens, keys, cookies). */
const SECRET_KEY = /password|passphrase|secret|token|private_?key|api_?key|authorization|cookie|credential/i;
export const REDACTED = '[redacted]';
/** A stored before/after/details larger than this is replaced by a note saying so. */
const MAX_JSON_CHARS = 32_000;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** A copy of `value` with every secret-named key's value replaced (at any depth). */
export function redact(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth > 12) return '[too deep]';
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, SECRET_KEY.test(k) ? REDACTED : redact(v, depth + 1)]));
}

/** JSON text of the redacted value, or null; oversized values are replaced by a note. */
export function auditJson(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  const text = JSON.stringify(redact(value));
  return text.length <= MAX_JSON_CHARS ? text : JSON.stringify({ truncated: true, chars: text.length });
}

const cut = (s: string | null | undefined, max: number) => (s === null || s === undefined ? null : s.length > max ? s.slice(0, max) : s);

/**
 * Whether this request is an admin action to audit: a write (not GET/HEAD/OPTIONS) to an
 * admin-only route (or one marked `audit: true`), by a caller who is an admin. A plain user's
 * refused attempt is not an admin action (the guard records it as access.denied).
 */
export function isAuditable(request: FastifyRequest): boolean {
  if (SAFE_METHODS.has(request.method) || request.is404) return false;
  const config = request.routeOptions.config as { access?: Access; audit?: boolean };
  if (config.access !== 'admin' && config.audit !== true) return false;
  return request.identity?.user.is_admin === true;
}

/** users → user, policies → policy: the kind of object a route's path names. */
const singular = (word: string) => (word.endsWith('ies') ? `${word.slice(0, -3)}y` : word.endsWith('s') ? word.slice(0, -1) : word);

/** The target from the route's parameters when the route noted none: /api/admin/users/:id → user #id. */
export function targetFromParams(routeUrl: string | undefined, params: unknown): { type: string; id: string } | undefined {
  const values = (params ?? {}) as Record<string, unknown>;
  const keys = Object.keys(values).filter((k) => k !== '*' && values[k] !== undefined);
  const key = keys[keys.length - 1];
  if (!key) return undefined;
  const id = String(values[key]);
  if (key.endsWith('_id')) return { type: key.slice(0, -3), id };
  const segments = (routeUrl ?? '').split('/');
  const at = segments.indexOf(`:${key}`);
  const before = at > 0 ? segments[at - 1] : undefined;
  return { type: before ? singular(before) : key, id };
}

/** The error code and message of a failed request's error body, for the entry's details. */
function errorOf(statusCode: number, payload: unknown): { code?: unknown; message?: unknown } | undefined {
  if (statusCode < 400 || typeof payload !== 'string') return undefined;
  try {
    const body = JSON.parse(payload) as { code?: unknown; message?: unknown };
    return typeof body === 'object' && body !== null ? { code: body.code, message: body.message } : undefined;
  } catch {
    return undefined;
  }
}

/** The one audit row of an admin request, from the request, its note and how it ended. */
export function auditRow(request: FastifyRequest, statusCode: number, payload: unknown, now: Date): NewAuditRow {
  const note = request.auditNote ?? {};
  const routeUrl = request.routeOptions.url;
  const target = note.target ? { type: note.target.type, id: String(note.target.id), label: note.target.label } : targetFromParams(routeUrl, request.params);
  const body = request.body;
  const error = errorOf(statusCode, payload);
  const details = {
    ...(body !== undefined && body !== null && (typeof body !== 'object' || Object.keys(body).length > 0) ? { request: body } : {}),
    ...(error ? { error } : {}),
    ...note.details,
  };
  const user = request.identity?.user;
  return {
    created_at: now.toISOString(),
    actor_id: user?.id ?? null,
    actor_username: user?.username ?? null,
    action: cut(note.action ?? `${request.method} ${routeUrl ?? request.url.split('?')[0]}`, 64)!,
    method: request.method.slice(0, 8),
    path: cut(request.url.split('?')[0]!, 512)!,
    target_type: cut(target?.type, 32),
    target_id: cut(target?.id, 64),
    target_label: cut(target && 'label' in target ? target.label : undefined, 200),
    before: auditJson(note.before),
    after: auditJson(note.after),
    details: Object.keys(details).length ? auditJson(details) : null,
    outcome: statusCode < 400 ? 'succeeded' : 'failed',
    status_code: statusCode,
    source_ip: cut(request.ip, 64),
    request_id: cut(request.id, 64),
  };
}
