import type { Generated } from 'kysely';
import type { Flag, Timestamp } from './columns.js';

/** Accounts: users, sessions, API tokens, SSH keys, sign-in failures. */

export interface UsersTable {
  id: Generated<number>;
  username: string;
  email: string;
  hashed_password: string;
  is_admin: Flag;
  is_active: Flag;
  /** Cached balance: only the ledger service writes it, in the same transaction as a ledger row. */
  credits: number;
  // Columns failed_login_count and locked_until (001) stay in the table but are unused since
  // lockout moved to login_failures (005): left out here so no code reads or writes them again.
  created_at: Timestamp;
  updated_at: Timestamp;
  /** Last successful sign-in (017). */
  last_login_at: Timestamp | null;
  /** Set when an admin deleted the account: it can no longer sign in, its history stays. */
  deleted_at: Timestamp | null;
  /** Per-user limits set by an admin; NULL means the server-wide limit applies. */
  quota_max_vms: number | null;
  quota_max_ram_mb: number | null;
  quota_max_vcpus: number | null;
  quota_max_disk_gb: number | null;
  /** Per-user override of the snapshot quota (018); NULL: the server-wide limit. */
  quota_max_snapshots: number | null;
  /** The lowest low-balance threshold already announced (re-armed by a top-up above it). */
  billing_warned_below: number | null;
  /** When the balance reached zero and the grace period began; NULL while the balance is positive. */
  grace_started_at: Timestamp | null;
  /** When the grace period ended and the user's VMs were stopped; cleared by a top-up. */
  suspended_at: Timestamp | null;
}

export interface SessionsTable {
  id: Generated<number>;
  user_id: number;
  token_hash: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  last_seen_at: Timestamp;
  revoked_at: Timestamp | null;
  source_ip: string | null;
  user_agent: string | null;
}

export interface ApiTokensTable {
  id: Generated<number>;
  user_id: number;
  name: string;
  token_hash: string;
  prefix: string;
  scope: 'read' | 'read-write';
  created_at: Timestamp;
  expires_at: Timestamp | null;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
}

export interface SshKeysTable {
  id: Generated<number>;
  user_id: number;
  name: string;
  public_key: string;
  fingerprint: string;
  fingerprint_md5: string;
  key_type: string;
  bits: number;
  created_at: Timestamp;
}

/** Failed logins per account ("user:<id>" or "login:<name>") and source address. */
export interface LoginFailuresTable {
  account_key: string;
  source_ip: string;
  failures: number;
  locked_until: Timestamp | null;
  last_failed_at: Timestamp;
}
