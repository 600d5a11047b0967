import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from '../migrator.js';
import type { SocRule } from '@twarga/contract';

type DefaultRule = Omit<SocRule, 'enabled' | 'updated_at'>;
const SSH_FAILURES = { codes: ['ssh.login_failed', 'ssh.invalid_user'] };

/**
 * The default detection rules, seeded here so they are created exactly once (an admin who tunes
 * or disables one keeps that choice). Thresholds follow fail2ban's defaults where it has one
 * (5 failures in 10 minutes, a 10-minute ban).
 */
export const DEFAULT_SOC_RULES: DefaultRule[] = [
  {
    id: 'ssh_brute_force', title: 'SSH brute force on a VM', severity: 'warning', mitre: 'T1110.001', kind: 'event_count',
    description: 'At least 5 failed SSH logins (wrong password or unknown user) from one address on one VM within 10 minutes. Blocks the address on that VM.',
    match: SSH_FAILURES, group_by: ['source_ip', 'vm_id'], window_seconds: 600, threshold: 5,
    response: { block: { scope: 'vm', duration_seconds: 600 } },
  },
  {
    id: 'ssh_user_enumeration', title: 'SSH user enumeration on a VM', severity: 'warning', mitre: 'T1087', kind: 'value_count',
    description: 'At least 5 different unknown user names tried from one address on one VM within 10 minutes.',
    match: { codes: ['ssh.invalid_user'] }, value_field: 'details.user', group_by: ['source_ip', 'vm_id'], window_seconds: 600, threshold: 5, response: {},
  },
  {
    id: 'ssh_success_after_failures', title: 'SSH login succeeded after repeated failures', severity: 'critical', mitre: 'T1110', kind: 'temporal_ordered',
    description: 'At least 5 failed SSH logins and then a successful one, from the same address on the same VM within 30 minutes: the password may have been guessed.',
    sequence: [{ match: SSH_FAILURES, min_count: 5 }, { match: { codes: ['ssh.login_succeeded'] } }],
    group_by: ['source_ip', 'vm_id'], window_seconds: 1800, threshold: 1, response: {},
  },
  {
    id: 'control_plane_brute_force', title: 'Control-plane login brute force', severity: 'critical', mitre: 'T1110', kind: 'event_count',
    description: 'At least 10 failed, locked-out or blocked sign-ins to Twarga Cloud from one address within 10 minutes. Blocks the address on the control plane for 15 minutes (never a loopback address).',
    match: { codes: ['login.failed', 'login.blocked', 'account.locked'] }, group_by: ['source_ip'], window_seconds: 600, threshold: 10,
    response: { block: { scope: 'control_plane', duration_seconds: 900 } },
  },
  {
    id: 'credential_stuffing', title: 'Credential stuffing', severity: 'warning', mitre: 'T1110.004', kind: 'value_count',
    description: 'Failed sign-ins for at least 5 different logins from one address within 10 minutes.',
    match: { codes: ['login.failed'] }, value_field: 'details.login', group_by: ['source_ip'], window_seconds: 600, threshold: 5, response: {},
  },
  {
    id: 'repeated_forbidden', title: 'Repeated forbidden requests', severity: 'warning', mitre: 'T1190', kind: 'event_count',
    description: 'At least 20 requests refused with 403 (admin-only routes, CSRF, read-only tokens) from one address within 10 minutes: probing for what it may not use.',
    match: { codes: ['access.denied'] }, group_by: ['source_ip'], window_seconds: 600, threshold: 20, response: {},
  },
  {
    id: 'admin_new_address', title: 'Administrator signed in from a new address', severity: 'warning', mitre: 'T1078', kind: 'new_value',
    description: "An administrator signed in from an address they have not signed in from before (each admin's first address is learned).",
    match: { codes: ['login.succeeded'], details: { admin: true } }, value_field: 'source_ip', group_by: ['user_id'], window_seconds: 86400, threshold: 1, response: {},
  },
  {
    id: 'vm_churn', title: 'Burst of VM creations and destructions', severity: 'warning', mitre: 'T1496', kind: 'event_count',
    description: 'At least 10 VM creations or destructions by one user within 10 minutes (resource hijacking, e.g. mining, or a stolen account).',
    match: { codes: ['vm.create', 'vm.destroy'] }, group_by: ['user_id'], window_seconds: 600, threshold: 10, response: {},
  },
  {
    id: 'terminal_host_key_changed', title: "A VM's SSH host key changed", severity: 'critical', mitre: 'T1557', kind: 'event_count',
    description: "The web terminal saw a host key different from the one pinned for the VM: the connection may be intercepted.",
    match: { codes: ['terminal.host_key_changed'] }, group_by: ['vm_id'], window_seconds: 60, threshold: 1, response: {},
  },
];

/**
 * The SOC's detection side: rules as data (the defaults seeded here, once, so an admin's tuning
 * survives restarts and upgrades), the incidents they open with their events and history, the
 * values a "new value" rule has seen, and address blocks.
 *
 * One incident per rule and group while it is open or acknowledged: a unique index over those
 * rows only (like alerts' open_key in 011), on SQLite and PostgreSQL alike. group_key is a hash
 * of the group's values, so the index stays small whatever the values are.
 * vm_id, user_id, rule_id and event ids are plain integers/strings, not foreign keys: incidents
 * and blocks outlive the VMs, users and events they mention, as history.
 */
export async function up(db: Kysely<unknown>, { pk, timestamp }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('soc_rules')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('title', 'varchar(200)', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('severity', 'varchar(10)', (c) => c.notNull())
    .addColumn('mitre', 'varchar(32)', (c) => c.notNull())
    .addColumn('kind', 'varchar(20)', (c) => c.notNull())
    // JSON: RuleMatch, the step list of a temporal rule, the group-by fields, RuleResponse.
    .addColumn('match', 'text')
    .addColumn('value_field', 'varchar(64)')
    .addColumn('sequence', 'text')
    .addColumn('group_by', 'text', (c) => c.notNull())
    .addColumn('window_seconds', 'integer', (c) => c.notNull())
    .addColumn('threshold', 'integer', (c) => c.notNull())
    .addColumn('response', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('created_at', timestamp, (c) => c.notNull())
    .addColumn('updated_at', timestamp, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('soc_incidents')
    .addColumn('id', 'integer', pk)
    .addColumn('rule_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('title', 'varchar(300)', (c) => c.notNull())
    .addColumn('severity', 'varchar(10)', (c) => c.notNull())
    .addColumn('mitre', 'varchar(32)', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('group_key', 'varchar(64)', (c) => c.notNull())
    .addColumn('group_values', 'text', (c) => c.notNull())
    .addColumn('source_ip', 'varchar(64)')
    .addColumn('vm_id', 'integer')
    // The owner of what was attacked; null: admins only.
    .addColumn('user_id', 'integer')
    .addColumn('event_count', 'integer', (c) => c.notNull())
    .addColumn('first_seen', timestamp, (c) => c.notNull())
    .addColumn('last_seen', timestamp, (c) => c.notNull())
    .addColumn('created_at', timestamp, (c) => c.notNull())
    .addColumn('updated_at', timestamp, (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('uq_soc_incidents_active')
    .on('soc_incidents')
    .columns(['rule_id', 'group_key'])
    .unique()
    .where(sql<boolean>`status IN ('open', 'acknowledged')`)
    .execute();
  await db.schema.createIndex('idx_soc_incidents_user').on('soc_incidents').columns(['user_id', 'id']).execute();
  await db.schema.createIndex('idx_soc_incidents_status').on('soc_incidents').columns(['status', 'id']).execute();

  // "Related events": the events that made up an incident (capped per incident, see the engine).
  await db.schema
    .createTable('soc_incident_events')
    .addColumn('incident_id', 'integer', (c) => c.notNull())
    .addColumn('event_id', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('pk_soc_incident_events', ['incident_id', 'event_id'])
    .execute();
  await db.schema.createIndex('idx_soc_incident_events_event').on('soc_incident_events').columns(['event_id', 'incident_id']).execute();

  await db.schema
    .createTable('soc_incident_history')
    .addColumn('id', 'integer', pk)
    .addColumn('incident_id', 'integer', (c) => c.notNull())
    .addColumn('at', timestamp, (c) => c.notNull())
    .addColumn('action', 'varchar(20)', (c) => c.notNull())
    .addColumn('actor_user_id', 'integer')
    .addColumn('actor_username', 'varchar(64)')
    .addColumn('comment', 'text')
    .execute();
  await db.schema.createIndex('idx_soc_incident_history').on('soc_incident_history').columns(['incident_id', 'id']).execute();

  // What a "new_value" rule has seen per group (e.g. the addresses an admin signed in from).
  await db.schema
    .createTable('soc_seen_values')
    .addColumn('rule_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('group_key', 'varchar(64)', (c) => c.notNull())
    .addColumn('value', 'varchar(200)', (c) => c.notNull())
    .addColumn('first_seen', timestamp, (c) => c.notNull())
    .addPrimaryKeyConstraint('pk_soc_seen_values', ['rule_id', 'group_key', 'value'])
    .execute();

  await db.schema
    .createTable('soc_blocks')
    .addColumn('id', 'integer', pk)
    .addColumn('address', 'varchar(64)', (c) => c.notNull())
    .addColumn('scope', 'varchar(16)', (c) => c.notNull())
    .addColumn('vm_id', 'integer')
    // scope vm: the VM's owner (who may see and lift it); null: admins only.
    .addColumn('user_id', 'integer')
    .addColumn('reason', 'varchar(500)', (c) => c.notNull())
    .addColumn('incident_id', 'integer')
    .addColumn('rule_id', 'varchar(64)')
    .addColumn('created_by', 'integer')
    .addColumn('created_at', timestamp, (c) => c.notNull())
    .addColumn('expires_at', timestamp)
    // Set when lifted by a person (lifted_by) or when it expired (lifted_by null, lifted_at = expires_at).
    .addColumn('lifted_at', timestamp)
    .addColumn('lifted_by', 'integer')
    .addColumn('offence', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('idx_soc_blocks_address').on('soc_blocks').columns(['address', 'created_at']).execute();
  await db.schema.createIndex('idx_soc_blocks_user').on('soc_blocks').columns(['user_id', 'id']).execute();
  await db.schema.createIndex('idx_soc_blocks_lifted').on('soc_blocks').columns(['lifted_at', 'id']).execute();

  const now = new Date().toISOString();
  await (db as Kysely<{ soc_rules: Record<string, unknown> }>)
    .insertInto('soc_rules')
    .values(DEFAULT_SOC_RULES.map((r) => ({
      id: r.id, title: r.title, description: r.description, severity: r.severity, mitre: r.mitre, kind: r.kind,
      match: r.match ? JSON.stringify(r.match) : null,
      value_field: r.value_field ?? null,
      sequence: r.sequence ? JSON.stringify(r.sequence) : null,
      group_by: JSON.stringify(r.group_by),
      window_seconds: r.window_seconds, threshold: r.threshold, response: JSON.stringify(r.response),
      enabled: 1, created_at: now, updated_at: now,
    })))
    .execute();
}
