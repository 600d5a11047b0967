import type { Kysely } from 'kysely';
import type { MigrationContext } from '../migrator.js';

/**
 * Admin operations and billing.
 * - users: last sign-in (admin list), soft deletion (history stays), per-user quota overrides
 *   (NULL: the server-wide limit), and the low-balance state machine (lowest threshold already
 *   announced, grace start, suspension).
 * - credit_ledger: hourly usage rows carry the period they pay for and how many hours; the unique
 *   (vm_id, kind, period) key makes every charge happen once even when two passes race.
 *   One-off rows (first hour, its refund) keep period ''. period is the ISO start of the first
 *   hour the row pays for (text, so it is the same key on SQLite and PostgreSQL).
 * - audit_log: one row per admin action, with before/after.
 */
export async function up(db: Kysely<unknown>, { pk, timestamp }: MigrationContext): Promise<void> {
  for (const [name, type] of [
    ['last_login_at', timestamp],
    ['deleted_at', timestamp],
    ['quota_max_vms', 'integer'],
    ['quota_max_ram_mb', 'integer'],
    ['quota_max_vcpus', 'integer'],
    ['quota_max_disk_gb', 'integer'],
    ['billing_warned_below', 'bigint'],
    ['grace_started_at', timestamp],
    ['suspended_at', timestamp],
  ] as const) {
    await db.schema.alterTable('users').addColumn(name, type).execute();
  }

  await db.schema.alterTable('credit_ledger').addColumn('period', 'varchar(40)', (c) => c.notNull().defaultTo('')).execute();
  await db.schema.alterTable('credit_ledger').addColumn('hours', 'integer').execute();
  await db.schema.dropIndex('uq_credit_ledger_vm_kind').execute();
  await db.schema.createIndex('uq_credit_ledger_charge').on('credit_ledger').columns(['vm_id', 'kind', 'period']).unique().execute();
  await db.schema.createIndex('idx_credit_ledger_usage').on('credit_ledger').columns(['user_id', 'kind', 'period']).execute();

  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'integer', pk)
    .addColumn('created_at', timestamp, (c) => c.notNull())
    .addColumn('actor_id', 'integer')
    .addColumn('actor_username', 'varchar(64)')
    .addColumn('action', 'varchar(64)', (c) => c.notNull())
    .addColumn('method', 'varchar(8)', (c) => c.notNull())
    .addColumn('path', 'varchar(512)', (c) => c.notNull())
    .addColumn('target_type', 'varchar(32)')
    .addColumn('target_id', 'varchar(64)')
    .addColumn('target_label', 'varchar(200)')
    .addColumn('before', 'text')
    .addColumn('after', 'text')
    .addColumn('details', 'text')
    .addColumn('outcome', 'varchar(16)', (c) => c.notNull())
    .addColumn('status_code', 'integer', (c) => c.notNull())
    .addColumn('source_ip', 'varchar(64)')
    .addColumn('request_id', 'varchar(64)')
    .execute();
  await db.schema.createIndex('idx_audit_actor').on('audit_log').columns(['actor_id', 'id']).execute();
  await db.schema.createIndex('idx_audit_target').on('audit_log').columns(['target_type', 'target_id', 'id']).execute();
  await db.schema.createIndex('idx_audit_action').on('audit_log').columns(['action', 'id']).execute();
  await db.schema.createIndex('idx_audit_time').on('audit_log').columns(['created_at']).execute();
}
