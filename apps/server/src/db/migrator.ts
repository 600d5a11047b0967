import { sql, type ColumnDataType, type ColumnDefinitionBuilder, type Expression, type Kysely } from 'kysely';
import * as m001 from './migrations/001_initial.js';
import * as m002 from './migrations/002_terminal.js';
import * as m003 from './migrations/003_compute_hosts.js';
import * as m004 from './migrations/004_action_log.js';
import * as m005 from './migrations/005_login_failures.js';
import * as m006 from './migrations/006_vm_status_reason.js';
import * as m007 from './migrations/007_ledger_vm_health.js';
import * as m008 from './migrations/008_event_repeats.js';
import * as m009 from './migrations/009_host_pool.js';
import * as m010 from './migrations/010_metrics.js';
import * as m011 from './migrations/011_alerts.js';
import * as m012 from './migrations/012_notifications.js';
import * as m013 from './migrations/013_vm_health.js';
import * as m014 from './migrations/014_soc.js';
import * as m015 from './migrations/015_event_search.js';
import * as m016 from './migrations/016_event_fold_key.js';
import * as m017 from './migrations/017_admin_billing.js';
import * as m018 from './migrations/018_snapshots.js';
import * as m019 from './migrations/019_built_images.js';
import * as m020 from './migrations/020_do_compat.js';
import * as m021 from './migrations/021_action_force.js';
import * as m022 from './migrations/022_action_leases.js';
import * as m023 from './migrations/023_live_relay.js';
import * as m024 from './migrations/024_terminal_tickets.js';
import * as m025 from './migrations/025_cluster_settings.js';
import * as m026 from './migrations/026_server_processes.js';

export interface MigrationContext {
  /** Auto-increment integer primary key that never reuses ids (events refer to deleted rows). */
  pk: (c: ColumnDefinitionBuilder) => ColumnDefinitionBuilder;
  /** Timestamp column type (ISO strings in SQLite, timestamptz in PostgreSQL). */
  timestamp: ColumnDataType | Expression<unknown>;
  /** The dialect, for the rare table that is laid out differently on each (010: WITHOUT ROWID). */
  kind: 'sqlite' | 'postgres';
}

interface Migration {
  name: string;
  up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void>;
}

/** Ordered, append-only. Never edit a migration that has shipped: add a new one. */
const MIGRATIONS: Migration[] = [
  { name: '001_initial', ...m001 },
  { name: '002_terminal', ...m002 },
  { name: '003_compute_hosts', ...m003 },
  { name: '004_action_log', ...m004 },
  { name: '005_login_failures', ...m005 },
  { name: '006_vm_status_reason', ...m006 },
  { name: '007_ledger_vm_health', ...m007 },
  { name: '008_event_repeats', ...m008 },
  { name: '009_host_pool', ...m009 },
  { name: '010_metrics', ...m010 },
  { name: '011_alerts', ...m011 },
  { name: '012_notifications', ...m012 },
  { name: '013_vm_health', ...m013 },
  { name: '014_soc', ...m014 },
  { name: '015_event_search', ...m015 },
  { name: '016_event_fold_key', ...m016 },
  { name: '017_admin_billing', ...m017 },
  { name: '018_snapshots', ...m018 },
  { name: '019_built_images', ...m019 },
  { name: '020_do_compat', ...m020 },
  { name: '021_action_force', ...m021 },
  { name: '022_action_leases', ...m022 },
  { name: '023_live_relay', ...m023 },
  { name: '024_terminal_tickets', ...m024 },
  { name: '025_cluster_settings', ...m025 },
  { name: '026_server_processes', ...m026 },
];

/**
 * Applies pending migrations in one transaction each, recording them in twarga_migrations.
 * Kysely's Migrator is not used because its file-based provider does not fit a bundled build
 * and we need the dialect-specific column types passed in.
 */
export async function migrate(db: Kysely<unknown>, kind: 'sqlite' | 'postgres'): Promise<string[]> {
  const ctx: MigrationContext =
    kind === 'sqlite'
      ? { pk: (c) => c.primaryKey().autoIncrement(), timestamp: 'text', kind }
      : { pk: (c) => c.primaryKey().generatedByDefaultAsIdentity(), timestamp: 'timestamptz', kind };
  await db.schema
    .createTable('twarga_migrations')
    .ifNotExists()
    .addColumn('name', 'varchar(255)', (c) => c.primaryKey())
    .addColumn('applied_at', 'varchar(32)', (c) => c.notNull())
    .execute();
  const applied: string[] = [];
  for (const migration of MIGRATIONS) {
    await db.transaction().execute(async (trx) => {
      if (kind === 'postgres') await sql`LOCK TABLE twarga_migrations IN EXCLUSIVE MODE`.execute(trx);
      const done = await sql<{ name: string }>`SELECT name FROM twarga_migrations WHERE name = ${migration.name}`.execute(trx);
      if (done.rows.length > 0) return;
      await migration.up(trx, ctx);
      await sql`INSERT INTO twarga_migrations (name, applied_at) VALUES (${migration.name}, ${new Date().toISOString()})`.execute(trx);
      applied.push(migration.name);
    });
  }
  return applied;
}
