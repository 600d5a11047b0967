import type { Generated } from 'kysely';
import type { Timestamp } from './columns.js';

/** Money and accountability: the credit ledger and the audit log of admin actions. */

export interface CreditLedgerTable {
  id: Generated<number>;
  user_id: number;
  amount: number;
  balance_after: number;
  reason: string;
  actor_id: number | null;
  created_at: Timestamp;
  /** The VM a one-off charge belongs to (first hour, its refund); NULL for other rows. */
  vm_id: number | null;
  /** 'first_hour' | 'first_hour_refund' | 'usage'; NULL for other rows. Unique with (vm_id, period). */
  kind: string | null;
  /** ISO start of the first hour a usage row pays for; '' for every other row. */
  period: Generated<string>;
  /** How many hours a usage row pays for; NULL for other rows. */
  hours: number | null;
  /** The snapshot a storage charge (kind 'snapshot') pays for; unique with (kind, period) (018). */
  snapshot_id: number | null;
}

/** One row per admin action (017): who, what, on what, before/after, from where. */
export interface AuditLogTable {
  id: Generated<number>;
  created_at: Timestamp;
  actor_id: number | null;
  actor_username: string | null;
  /** A stable code, e.g. user.credits_adjusted, vm.emergency_stop. */
  action: string;
  method: string;
  path: string;
  target_type: string | null;
  target_id: string | null;
  target_label: string | null;
  /** JSON */
  before: string | null;
  /** JSON */
  after: string | null;
  /** JSON */
  details: string | null;
  /** 'succeeded' | 'failed' */
  outcome: string;
  status_code: number;
  source_ip: string | null;
  request_id: string | null;
}
