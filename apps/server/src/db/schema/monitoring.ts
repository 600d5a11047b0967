import type { Generated } from 'kysely';
import type { Flag, Timestamp } from './columns.js';

/** Health heartbeat, metrics, alerts and notifications. */

/** One row (id 1) that GET /health updates: a real committed write. */
export interface HealthHeartbeatTable {
  id: number;
  checked_at: Timestamp;
}

export interface MetricsTable {
  id: Generated<number>;
  timestamp: Timestamp;
  metric_type: string;
  entity: 'host' | 'vm';
  entity_id: number | null;
  value: string;
}

/** Migration 010: one row per entity per sample (raw) or per bucket (rollups); metrics are typed columns. */
export interface MetricSamplesTable {
  entity: 'host' | 'vm';
  entity_id: number;
  /** 0 raw, 60 or 3600 (rollup bucket, seconds). */
  resolution: number;
  /** Unix seconds; PostgreSQL returns bigint as a string. */
  ts: number | string;
  cpu_percent: number | null;
  load1: number | null;
  load5: number | null;
  load15: number | null;
  memory_used_bytes: number | null;
  memory_total_bytes: number | null;
  swap_used_bytes: number | null;
  swap_total_bytes: number | null;
  memory_rss_bytes: number | null;
  guest_memory_used_bytes: number | null;
  guest_memory_total_bytes: number | null;
  fs_used_bytes: number | null;
  fs_total_bytes: number | null;
  disk_read_bps: number | null;
  disk_write_bps: number | null;
  net_rx_bps: number | null;
  net_tx_bps: number | null;
  /** Rollups: JSON {metric: [min, max]}; null for raw rows. */
  minmax: string | null;
}

/** Alert policies; user_id null = a system policy. vm_ids and channel_ids are JSON arrays. */
export interface AlertPoliciesTable {
  id: Generated<number>;
  user_id: number | null;
  entity: string;
  metric: string;
  compare: string;
  value: number;
  window: string;
  vm_ids: string;
  channel_ids: string;
  description: string;
  enabled: Flag;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** One firing of a policy (or a health condition, policy_id null); open_key is unique among open rows. */
export interface AlertsTable {
  id: Generated<number>;
  policy_id: number | null;
  user_id: number | null;
  entity: string;
  vm_id: number | null;
  metric: string;
  compare: string | null;
  threshold: number | null;
  value: number | null;
  last_value: number | null;
  state: string;
  message: string;
  open_key: string;
  opened_at: Timestamp;
  resolved_at: Timestamp | null;
  last_notified_at: Timestamp | null;
  notified: string | null;
}

/** Migration 012: a user's notification channels. */
export interface NotificationChannelsTable {
  id: Generated<number>;
  user_id: number;
  kind: 'email' | 'webhook';
  name: string;
  email: string | null;
  url: string | null;
  format: 'json' | 'slack' | null;
  /** Webhooks: the signing secret, sealed (lib/seal.ts). */
  secret_enc: string | null;
  enabled: Flag;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** Migration 012: one notification sent (or being sent) to one channel. */
export interface NotificationDeliveriesTable {
  id: Generated<number>;
  channel_id: number;
  user_id: number;
  topic: string;
  subject: string;
  body: string;
  /** JSON object. */
  data: string;
  alert_id: number | null;
  status: 'pending' | 'delivered' | 'failed';
  attempts: Generated<number>;
  response_code: number | null;
  error: string | null;
  created_at: Timestamp;
  finished_at: Timestamp | null;
}
