import type { Kysely } from 'kysely';
import type { MigrationContext } from '../migrator.js';

/**
 * - actions.forced: whether a stop or reboot skipped the graceful ACPI step (DO tells power_off
 *   from shutdown and power_cycle from reboot, also when an action is read back later).
 * - An index for a user's own actions across their VMs (GET /v2/actions).
 */
export async function up(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema.alterTable('actions').addColumn('forced', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.createIndex('idx_actions_user').on('actions').columns(['user_id', 'id']).execute();
}
