import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from '../migrator.js';

/**
 * Repeats of one security event (same action, user, source address, path and reason) within a
 * short window fold into the first row: `count` occurrences, the last at `last_seen`. 3,000
 * refused calls are one row with count 3000, not 3,000 rows drowning the feed and the disk.
 * Existing rows happened once, last at their own timestamp.
 */
export async function up(db: Kysely<unknown>, { timestamp }: MigrationContext): Promise<void> {
  await db.schema.alterTable('events').addColumn('count', 'integer', (c) => c.notNull().defaultTo(1)).execute();
  await db.schema.alterTable('events').addColumn('last_seen', timestamp).execute();
  await sql`UPDATE events SET last_seen = timestamp`.execute(db);
  // Finding the row a repeat folds into: same action, recent.
  await db.schema.createIndex('idx_events_action_time').on('events').columns(['action', 'timestamp']).execute();
}
