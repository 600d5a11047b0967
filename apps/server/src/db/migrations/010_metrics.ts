import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from '../migrator.js';

/**
 * Metric samples, compactly: one row per entity (the host or a VM) per sample, one typed column per
 * metric (null where nothing gives it), instead of the seed's row per metric per sample. A history
 * query of one metric reads one column of an index range. Rollups (resolution 60 and 3600 s) keep
 * the average in the same columns and min/max as a small JSON array, so one table serves all
 * resolutions. The seed's `metrics` table (never written) stays for old databases.
 * On SQLite the table is WITHOUT ROWID: rows are stored in primary-key order, so one entity's
 * history is one contiguous range (no second index, no lookup per row).
 */
/** Append-only: rollups store min/max as arrays in this order. */
export const METRIC_COLUMNS = [
  'cpu_percent', 'load1', 'load5', 'load15', 'memory_used_bytes', 'memory_total_bytes', 'swap_used_bytes', 'swap_total_bytes',
  'memory_rss_bytes', 'guest_memory_used_bytes', 'guest_memory_total_bytes', 'fs_used_bytes', 'fs_total_bytes',
  'disk_read_bps', 'disk_write_bps', 'net_rx_bps', 'net_tx_bps',
] as const;

export async function up(db: Kysely<unknown>, { kind }: MigrationContext): Promise<void> {
  let table = db.schema
    .createTable('metric_samples')
    // 'host' or 'vm'; entity_id 0 for the host.
    .addColumn('entity', 'varchar(4)', (c) => c.notNull())
    .addColumn('entity_id', 'integer', (c) => c.notNull())
    // 0 raw, 60 minute rollup, 3600 hourly rollup.
    .addColumn('resolution', 'integer', (c) => c.notNull())
    // Unix seconds (start of the bucket for rollups).
    .addColumn('ts', 'bigint', (c) => c.notNull());
  for (const col of METRIC_COLUMNS) table = table.addColumn(col, 'double precision');
  await table
    .addColumn('minmax', 'text')
    .addPrimaryKeyConstraint('metric_samples_pk', ['entity', 'entity_id', 'resolution', 'ts'])
    .$call((b) => (kind === 'sqlite' ? b.modifyEnd(sql`without rowid`) : b))
    .execute();
  // Rollups and retention select by resolution and time across all entities.
  await db.schema.createIndex('idx_metric_samples_res_ts').on('metric_samples').columns(['resolution', 'ts']).execute();
}
