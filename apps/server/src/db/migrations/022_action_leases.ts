import type { Kysely } from 'kysely';
import type { MigrationContext } from '../migrator.js';

/**
 * Actions become durable work items shared by several server processes (issue 16):
 * - actions.runner: the server process running the action (its process id, see lib/process-id.ts);
 * - actions.lease_expires_at: until when the runner vouches for it. The runner renews the leases
 *   of its actions every few seconds; an open action whose lease has run out belongs to a process
 *   that died, and another process takes it over (FOR UPDATE SKIP LOCKED on PostgreSQL).
 * Actions open before this migration have no lease: they count as abandoned.
 */
export async function up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  await db.schema.alterTable('actions').addColumn('runner', 'text').execute();
  await db.schema.alterTable('actions').addColumn('lease_expires_at', ctx.timestamp).execute();
  await db.schema.createIndex('idx_actions_open').on('actions').columns(['status', 'lease_expires_at']).execute();
}
