import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from '../migrator.js';

/**
 * The default host policies (the seed's thresholds), seeded here so they are created exactly once:
 * an admin who edits, disables or deletes one keeps that choice across restarts.
 */
export const DEFAULT_HOST_POLICIES = [
  { metric: 'cpu_percent', value: 90, description: 'Host CPU at or above 90 % for 5 minutes' },
  { metric: 'memory_percent', value: 85, description: 'Host memory at or above 85 % for 5 minutes' },
  { metric: 'fs_percent', value: 90, description: "Data dir's filesystem at or above 90 % for 5 minutes" },
  { metric: 'swap_percent', value: 50, description: 'Host swap at or above 50 % for 5 minutes' },
] as const;

/**
 * Alert policies (DigitalOcean's shape) and alerts (one row per firing). An alert's open_key names
 * what it is about (a policy and its entity, or a health condition and its VM); a unique index over
 * the open rows only lets at most one alert per key be open, on SQLite and PostgreSQL alike.
 * policy_id and vm_id are plain integers, not foreign keys: an alert outlives its policy and VM
 * as history (like events).
 */
export async function up(db: Kysely<unknown>, { pk, timestamp }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('alert_policies')
    .addColumn('id', 'integer', pk)
    // null: a system policy (the default host policies), managed by admins.
    .addColumn('user_id', 'integer', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('entity', 'varchar(8)', (c) => c.notNull())
    .addColumn('metric', 'varchar(32)', (c) => c.notNull())
    .addColumn('compare', 'varchar(16)', (c) => c.notNull())
    .addColumn('value', 'double precision', (c) => c.notNull())
    .addColumn('window', 'varchar(8)', (c) => c.notNull())
    // JSON arrays of ids.
    .addColumn('vm_ids', 'text', (c) => c.notNull())
    .addColumn('channel_ids', 'text', (c) => c.notNull())
    .addColumn('description', 'varchar(200)', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('created_at', timestamp, (c) => c.notNull())
    .addColumn('updated_at', timestamp, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('idx_alert_policies_user').on('alert_policies').columns(['user_id', 'id']).execute();

  await db.schema
    .createTable('alerts')
    .addColumn('id', 'integer', pk)
    .addColumn('policy_id', 'integer')
    // The VM's owner; null for host alerts (admins).
    .addColumn('user_id', 'integer')
    .addColumn('entity', 'varchar(8)', (c) => c.notNull())
    .addColumn('vm_id', 'integer')
    .addColumn('metric', 'varchar(32)', (c) => c.notNull())
    .addColumn('compare', 'varchar(16)')
    .addColumn('threshold', 'double precision')
    .addColumn('value', 'double precision')
    .addColumn('last_value', 'double precision')
    .addColumn('state', 'varchar(10)', (c) => c.notNull())
    .addColumn('message', 'varchar(500)', (c) => c.notNull())
    .addColumn('open_key', 'varchar(100)', (c) => c.notNull())
    .addColumn('opened_at', timestamp, (c) => c.notNull())
    .addColumn('resolved_at', timestamp)
    // The rate cap: when this alert last caused a notification, and of which transition.
    .addColumn('last_notified_at', timestamp)
    .addColumn('notified', 'varchar(10)')
    .execute();
  await db.schema.createIndex('uq_alerts_open').on('alerts').column('open_key').unique().where(sql.ref('state'), '=', 'open').execute();
  await db.schema.createIndex('idx_alerts_key').on('alerts').columns(['open_key', 'id']).execute();
  await db.schema.createIndex('idx_alerts_user').on('alerts').columns(['user_id', 'id']).execute();
  await db.schema.createIndex('idx_alerts_vm').on('alerts').columns(['vm_id', 'id']).execute();

  const now = new Date().toISOString();
  await (db as Kysely<{ alert_policies: Record<string, unknown> }>)
    .insertInto('alert_policies')
    .values(DEFAULT_HOST_POLICIES.map((p) => ({
      user_id: null, entity: 'host', metric: p.metric, compare: 'GreaterThan', value: p.value, window: '5m',
      vm_ids: '[]', channel_ids: '[]', description: p.description, enabled: 1, created_at: now, updated_at: now,
    })))
    .execute();
}
