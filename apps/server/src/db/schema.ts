import type { Generated } from 'kysely';

/**
 * Table types. Booleans are stored as 0/1 integers and timestamps as ISO-8601 UTC strings
 * on both SQLite and PostgreSQL, so repositories behave identically on either.
 */
type Flag = number;
type Timestamp = string;

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

/** One row (id 1) that GET /health updates: a real committed write. */
export interface HealthHeartbeatTable {
  id: number;
  checked_at: Timestamp;
}

/** No foreign keys on purpose: events outlive the users and VMs they mention. */
export interface EventsTable {
  id: Generated<number>;
  type: string;
  severity: string;
  action: string;
  message: string;
  timestamp: Timestamp;
  user_id: number | null;
  username: string | null;
  vm_id: number | null;
  source_ip: string | null;
  details: string;
  /** Occurrences folded into this row (migration 008): identical security events within a minute. */
  count: Generated<number>;
  /** When the last of them happened (equals timestamp for a single occurrence). */
  last_seen: Timestamp | null;
  /** Security events: hash of the fields that make two events identical (migration 016; folding's lookup). Null otherwise. */
  fold_key: string | null;
}

export interface VmsTable {
  id: Generated<number>;
  user_id: number;
  name: string;
  status: string;
  os_type: string;
  image: string;
  size: string | null;
  ram: number;
  cpu: number;
  disk: number;
  price_hourly: number;
  driver: string;
  ip_address: string | null;
  ssh_port: number | null;
  ssh_user: string;
  /** JSON array of the OpenSSH public keys installed at creation. */
  ssh_keys: string;
  user_data: string | null;
  locked: Flag;
  error: string | null;
  /** Why the VM is in its status, from its hypervisor: e.g. 'io-error' for a paused guest. */
  status_reason: string | null;
  booted_at: Timestamp | null;
  destroyed_at: Timestamp | null;
  /** Hours are paid up to here; the billing pass charges the next hour when it is reached. */
  billed_until: Timestamp | null;
  host_id: number | null;
  guest_ssh_host: string | null;
  guest_ssh_port: number | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  /** booting | responsive | unresponsive (013); see modules/health-watch. */
  health: string | null;
  health_since: Timestamp | null;
  /** The booted_at the health belongs to: a different booted_at means a new boot (health booting). */
  health_boot: Timestamp | null;
  /** 'guest-agent' | 'ssh': what proved the guest alive in this boot. */
  health_source: string | null;
  /** Opt-in: reset once per boot when unresponsive. */
  watchdog_reset: Flag;
  /** When the watchdog reset this boot's guest (at most once per boot). */
  watchdog_reset_at: Timestamp | null;
}

export interface ActionsTable {
  id: Generated<number>;
  vm_id: number;
  user_id: number;
  type: string;
  status: string;
  started_at: Timestamp;
  completed_at: Timestamp | null;
  error: string | null;
}

export interface ImagesTable {
  slug: string;
  name: string;
  distribution: string;
  version: string;
  /** Seed OS name it answers to (tiny, ubuntu, debian…). */
  os_type: string;
  min_disk: number;
  kind: 'builtin' | 'url';
  url: string | null;
  sha256: string | null;
  /** A distribution's SHA256SUMS file to verify against when sha256 is not given. */
  checksums_url: string | null;
  format: 'qcow2' | 'raw' | null;
  size_bytes: number | null;
  status: 'available' | 'pending' | 'downloading' | 'error';
  progress: number | null;
  error: string | null;
  created_at: Timestamp;
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

export interface VmConsoleKeysTable {
  vm_id: number;
  public_key: string;
  private_key_enc: string;
  host_key_sha256: string | null;
  created_at: Timestamp;
}

export interface TerminalSessionsTable {
  id: Generated<number>;
  vm_id: number;
  user_id: number;
  kind: 'serial' | 'ssh';
  source_ip: string | null;
  cols: number;
  rows: number;
  started_at: Timestamp;
  ended_at: Timestamp | null;
  end_reason: string | null;
  bytes_in: Generated<number>;
  bytes_out: Generated<number>;
  recording_bytes: Generated<number>;
  recording_truncated: Generated<Flag>;
  recording_deleted_at: Timestamp | null;
}

export interface ComputeHostsTable {
  id: Generated<number>;
  name: string;
  driver: 'qemu' | 'libvirt' | 'vagrant';
  uri: string | null;
  /** libvirt storage pool of this host's volumes; null: config.libvirtPool. */
  pool: string | null;
  ram_mb: number;
  vcpus: number;
  enabled: Flag;
  draining: Flag;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ActionLogTable {
  id: Generated<number>;
  action_id: number;
  at: Timestamp;
  line: string;
}

/** Failed logins per account ("user:<id>" or "login:<name>") and source address. */
export interface LoginFailuresTable {
  account_key: string;
  source_ip: string;
  failures: number;
  locked_until: Timestamp | null;
  last_failed_at: Timestamp;
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

/** Migration 014: detection rules (defaults seeded there). match, sequence, group_by, response: JSON. */
export interface SocRulesTable {
  id: string;
  title: string;
  description: string;
  severity: string;
  mitre: string;
  kind: string;
  match: string | null;
  value_field: string | null;
  sequence: string | null;
  group_by: string;
  window_seconds: number;
  threshold: number;
  response: string;
  enabled: Flag;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** Migration 014: one incident per rule and group (group_key, a hash) while open or acknowledged. */
export interface SocIncidentsTable {
  id: Generated<number>;
  rule_id: string;
  title: string;
  severity: string;
  mitre: string;
  status: string;
  group_key: string;
  /** JSON object: the group's field values. */
  group_values: string;
  source_ip: string | null;
  vm_id: number | null;
  user_id: number | null;
  event_count: number;
  first_seen: Timestamp;
  last_seen: Timestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface SocIncidentEventsTable {
  incident_id: number;
  event_id: number;
}

export interface SocIncidentHistoryTable {
  id: Generated<number>;
  incident_id: number;
  at: Timestamp;
  action: string;
  actor_user_id: number | null;
  actor_username: string | null;
  comment: string | null;
}

/** Values a new_value rule has seen, per group. */
export interface SocSeenValuesTable {
  rule_id: string;
  group_key: string;
  value: string;
  first_seen: Timestamp;
}

/** Migration 014: address blocks; lifted_at set with lifted_by null means it expired. */
export interface SocBlocksTable {
  id: Generated<number>;
  address: string;
  scope: string;
  vm_id: number | null;
  /** scope vm: the VM's owner. */
  user_id: number | null;
  reason: string;
  incident_id: number | null;
  rule_id: string | null;
  created_by: number | null;
  created_at: Timestamp;
  expires_at: Timestamp | null;
  lifted_at: Timestamp | null;
  lifted_by: number | null;
  offence: number;
}

export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  api_tokens: ApiTokensTable;
  ssh_keys: SshKeysTable;
  credit_ledger: CreditLedgerTable;
  audit_log: AuditLogTable;
  events: EventsTable;
  vms: VmsTable;
  actions: ActionsTable;
  images: ImagesTable;
  metrics: MetricsTable;
  metric_samples: MetricSamplesTable;
  vm_console_keys: VmConsoleKeysTable;
  terminal_sessions: TerminalSessionsTable;
  compute_hosts: ComputeHostsTable;
  action_log: ActionLogTable;
  login_failures: LoginFailuresTable;
  health_heartbeat: HealthHeartbeatTable;
  notification_channels: NotificationChannelsTable;
  notification_deliveries: NotificationDeliveriesTable;
  alert_policies: AlertPoliciesTable;
  alerts: AlertsTable;
  soc_rules: SocRulesTable;
  soc_incidents: SocIncidentsTable;
  soc_incident_events: SocIncidentEventsTable;
  soc_incident_history: SocIncidentHistoryTable;
  soc_seen_values: SocSeenValuesTable;
  soc_blocks: SocBlocksTable;
}
