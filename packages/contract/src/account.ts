import { Type, type Static } from '@sinclair/typebox';
import { Timestamp } from './common.js';

export const TokenScope = Type.Union([Type.Literal('read'), Type.Literal('read-write')]);
export type TokenScope = Static<typeof TokenScope>;

export const ApiToken = Type.Object(
  {
    id: Type.Integer(),
    name: Type.String(),
    scope: TokenScope,
    /** First characters of the token, enough to recognise it in a list. */
    prefix: Type.String(),
    created_at: Timestamp,
    expires_at: Type.Union([Timestamp, Type.Null()]),
    last_used_at: Type.Union([Timestamp, Type.Null()]),
  },
  { title: 'ApiToken' },
);
export type ApiToken = Static<typeof ApiToken>;

export const CreateTokenRequest = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64, pattern: '^[^\\x00-\\x1f]+$' }),
    scope: TokenScope,
    expires_in_days: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
  },
  { additionalProperties: false },
);
export type CreateTokenRequest = Static<typeof CreateTokenRequest>;

/** Returned once, at creation: the only time the secret is visible. */
export const CreatedApiToken = Type.Composite([ApiToken, Type.Object({ token: Type.String() })]);
export type CreatedApiToken = Static<typeof CreatedApiToken>;

/** The answer to "revoke all my API tokens". */
export const RevokedTokens = Type.Object({ revoked: Type.Integer({ minimum: 0, description: 'How many tokens were revoked' }) }, { title: 'RevokedTokens' });
export type RevokedTokens = Static<typeof RevokedTokens>;

export const SshKey = Type.Object(
  {
    id: Type.Integer(),
    name: Type.String(),
    public_key: Type.String(),
    /** OpenSSH SHA256 fingerprint, as `ssh-keygen -lf` prints it. */
    fingerprint: Type.String(),
    /** Legacy MD5 fingerprint (colon hex), as DigitalOcean shows it. */
    fingerprint_md5: Type.String(),
    key_type: Type.String(),
    bits: Type.Integer(),
    created_at: Timestamp,
  },
  { title: 'SshKey' },
);
export type SshKey = Static<typeof SshKey>;

export const CreateSshKeyRequest = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64, pattern: '^[^\\x00-\\x1f]+$' }),
    public_key: Type.String({ minLength: 16, maxLength: 16384 }),
  },
  { additionalProperties: false },
);
export type CreateSshKeyRequest = Static<typeof CreateSshKeyRequest>;

export const LedgerEntry = Type.Object(
  {
    id: Type.Integer(),
    amount: Type.Integer(),
    balance_after: Type.Integer(),
    reason: Type.String(),
    actor_id: Type.Union([Type.Integer(), Type.Null()]),
    created_at: Timestamp,
    /** The VM a charge or refund is about; null for grants and adjustments. */
    vm_id: Type.Union([Type.Integer(), Type.Null()]),
    /** usage (hourly metering), first_hour, first_hour_refund, or null for grants and adjustments. */
    kind: Type.Union([Type.String(), Type.Null()]),
    /** usage rows: how many hours the row pays for, from `period` on. */
    hours: Type.Union([Type.Integer(), Type.Null()]),
    period: Type.Union([Timestamp, Type.Null()]),
  },
  { title: 'LedgerEntry' },
);
export type LedgerEntry = Static<typeof LedgerEntry>;
