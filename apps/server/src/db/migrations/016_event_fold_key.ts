import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from '../migrator.js';

/**
 * Folding a repeated security event (EventLog.record) looks for "the identical event of the last
 * minute". By (action, timestamp) alone that read every same-action event of the minute, so a
 * flood of distinct security events (a brute force from many addresses, thousands of incidents)
 * cost O(n) per event. fold_key is a hash of every field that makes two events identical
 * (events.repository.ts foldKeyOf), written with each new security row; with (fold_key,
 * timestamp) the lookup is one index probe. Partial: other events are never folded, so they
 * cost the index nothing. Existing rows are not filled: only rows of the last minute can be
 * folded into, and those are written after the upgrade.
 */
export async function up(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema.alterTable('events').addColumn('fold_key', 'varchar(64)').execute();
  await db.schema.createIndex('idx_events_fold').on('events').columns(['fold_key', 'timestamp']).where(sql.ref('fold_key'), 'is not', null).execute();
}
