import type { UsersTable, SessionsTable, ApiTokensTable, SshKeysTable, LoginFailuresTable } from './schema/accounts.js';
import type { CreditLedgerTable, AuditLogTable } from './schema/billing.js';
import type { VmsTable, VmTagsTable, SnapshotsTable, ActionsTable, ActionLogTable, ImagesTable, ComputeHostsTable, VmConsoleKeysTable, TerminalSessionsTable } from './schema/compute.js';
import type { HealthHeartbeatTable, MetricsTable, MetricSamplesTable, AlertPoliciesTable, AlertsTable, NotificationChannelsTable, NotificationDeliveriesTable } from './schema/monitoring.js';
import type { ClusterSettingsTable, ServerProcessesTable } from './schema/cluster.js';
import type { LiveRelayTable } from './schema/live-relay.js';
import type { TerminalTicketsTable } from './schema/terminal-tickets.js';
import type { EventsTable, SocRulesTable, SocIncidentsTable, SocIncidentEventsTable, SocIncidentHistoryTable, SocSeenValuesTable, SocBlocksTable } from './schema/soc.js';

/**
 * Table types. Booleans are stored as 0/1 integers and timestamps as ISO-8601 UTC strings
 * on both SQLite and PostgreSQL, so repositories behave identically on either.
 */
export type * from './schema/accounts.js';
export type * from './schema/billing.js';
export type * from './schema/compute.js';
export type * from './schema/monitoring.js';
export type * from './schema/soc.js';
export type * from './schema/cluster.js';
export type * from './schema/live-relay.js';
export type * from './schema/terminal-tickets.js';

export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  api_tokens: ApiTokensTable;
  ssh_keys: SshKeysTable;
  credit_ledger: CreditLedgerTable;
  audit_log: AuditLogTable;
  events: EventsTable;
  vms: VmsTable;
  vm_tags: VmTagsTable;
  snapshots: SnapshotsTable;
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
  cluster_settings: ClusterSettingsTable;
  server_processes: ServerProcessesTable;
  live_relay: LiveRelayTable;
  terminal_tickets: TerminalTicketsTable;
}
