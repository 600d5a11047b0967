import type { Kysely } from 'kysely';
import type { MigrationContext } from '../migrator.js';

/**
 * cluster_settings: facts every server process on this database must agree on, written by the
 * first one. Today: the fingerprint of secrets.json (a process that joins with other secrets would
 * fail every CSRF check of the others' sessions and could not open what they sealed).
 */
export async function up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('cluster_settings')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('set_at', ctx.timestamp, (c) => c.notNull())
    .execute();
}
