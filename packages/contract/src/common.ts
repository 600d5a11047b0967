import { Type, type Static, type TObject, type TProperties } from '@sinclair/typebox';

/** ISO-8601 UTC timestamp string, e.g. 2026-11-23T08:00:00.000Z */
export const Timestamp = Type.String({ format: 'date-time' });

export const IdParam = Type.Object({ id: Type.Integer({ minimum: 1 }) });
export type IdParam = Static<typeof IdParam>;

/** The one error body every 4xx/5xx carries. */
export const ErrorBody = Type.Object(
  {
    code: Type.String({ description: 'Machine-readable error code, e.g. validation_failed' }),
    message: Type.String({ description: 'Human-readable explanation' }),
    request_id: Type.String(),
    details: Type.Optional(
      Type.Array(Type.Object({ field: Type.String(), message: Type.String() })),
    ),
  },
  { title: 'ErrorBody' },
);
export type ErrorBody = Static<typeof ErrorBody>;

/** Error codes the API can return; clients switch on these, never on messages. */
export const ErrorCodes = [
  'validation_failed',
  'unauthorized',
  'forbidden',
  'not_found',
  'conflict',
  'vm_not_running',
  'console_unavailable',
  'too_many_sessions',
  'no_capacity',
  'csrf_failed',
  'rate_limited',
  'account_locked',
  'quota_exceeded',
  'insufficient_credits',
  'invalid_credentials',
  'payload_too_large',
  'unsupported_media_type',
  'internal_error',
  'service_unavailable',
  'insufficient_storage',
  /** The VM's host (its driver) cannot do this, e.g. snapshots on a libvirt or Vagrant host. */
  'not_supported',
  /** The caller's address is blocked by the SOC (a block on the control plane). */
  'address_blocked',
  /** A remote libvirt host's SSH host key is not in the server's known_hosts file (record it with ssh-keyscan). */
  'host_key_unknown',
  /** A remote libvirt host's SSH host key differs from the one recorded in the known_hosts file. */
  'host_key_mismatch',
  /** A remote libvirt host did not answer (connection, login or libvirtd failed); the message says why. */
  'host_unreachable',
] as const;
export type ErrorCode = (typeof ErrorCodes)[number];

/** One check behind GET /health: ok, degraded (works, act soon) or failed (does not work). */
export const HealthCheck = Type.Object({
  name: Type.Union([Type.Literal('database_read'), Type.Literal('database_write'), Type.Literal('disk_space')]),
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('failed')]),
  detail: Type.String(),
});
export type HealthCheck = Static<typeof HealthCheck>;

/** The worst check decides `status`; HTTP 503 when it is `failed`, else 200. */
export const Health = Type.Object({
  status: Type.Union([Type.Literal('healthy'), Type.Literal('degraded'), Type.Literal('failed')]),
  /** ok only when the database both reads and writes. */
  database: Type.Union([Type.Literal('ok'), Type.Literal('error')]),
  database_kind: Type.Union([Type.Literal('sqlite'), Type.Literal('postgres')]),
  checks: Type.Array(HealthCheck),
  version: Type.String(),
  uptime_seconds: Type.Number(),
  timestamp: Timestamp,
});
export type Health = Static<typeof Health>;

/**
 * The export endpoint's query for a paged list: the list's filters without its paging
 * (before_id, limit), plus format=csv|json (csv by default). Every matching row is exported.
 */
export function exportQueryOf<T extends TProperties>(listQuery: TObject<T>) {
  return Type.Composite(
    [Type.Omit(listQuery, ['before_id', 'limit']), Type.Object({ format: Type.Optional(Type.Union([Type.Literal('csv'), Type.Literal('json')], { default: 'csv' })) })],
    { additionalProperties: false },
  );
}
