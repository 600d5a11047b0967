import type { Kysely } from 'kysely';
import type { MigrationContext } from '../migrator.js';

/**
 * server_processes: the server processes on this database, each seen every few seconds (the
 * admin's health page lists them, with the one leading the cluster's jobs). A process that
 * stops cleanly removes its row; a dead one's row goes stale, then is removed after an hour.
 */
export async function up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('server_processes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('hostname', 'text', (c) => c.notNull())
    .addColumn('pid', 'integer', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('started_at', ctx.timestamp, (c) => c.notNull())
    .addColumn('last_seen_at', ctx.timestamp, (c) => c.notNull())
    .addColumn('leading', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}
