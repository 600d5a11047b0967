import type { Kysely } from 'kysely';
import type { MigrationContext } from '../migrator.js';

/**
 * live_relay: the live messages too big for a PostgreSQL NOTIFY payload (8000 bytes), stored for
 * the other server processes to read by id (operations/live-relay.ts). PostgreSQL only: on
 * SQLite there is one server process and nothing to relay.
 */
export async function up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  if (ctx.kind !== 'postgres') return;
  await db.schema
    .createTable('live_relay')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('created_at', ctx.timestamp, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('idx_live_relay_created').on('live_relay').column('created_at').execute();
}
