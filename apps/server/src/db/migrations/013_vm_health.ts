import type { Kysely } from 'kysely';
import type { MigrationContext } from '../migrator.js';

/**
 * A running VM's health, apart from its hypervisor status (modules/health-watch):
 * - health / health_since: booting | responsive | unresponsive, and since when;
 * - health_boot: the booted_at the health belongs to. A start, stop or reboot changes booted_at, so a
 *   health left from an earlier boot is recognised as stale without the VM actions knowing about it;
 * - health_source: what last proved the guest alive in this boot ('guest-agent' or 'ssh'). Once the
 *   agent has answered, only the agent counts (an SSH banner must not hide a dead agent);
 * - watchdog_reset (opt-in at creation) and watchdog_reset_at: the one reset done in this boot.
 */
export async function up(db: Kysely<unknown>, { timestamp }: MigrationContext): Promise<void> {
  await db.schema.alterTable('vms').addColumn('health', 'varchar(16)').execute();
  await db.schema.alterTable('vms').addColumn('health_since', timestamp).execute();
  await db.schema.alterTable('vms').addColumn('health_boot', timestamp).execute();
  await db.schema.alterTable('vms').addColumn('health_source', 'varchar(16)').execute();
  await db.schema.alterTable('vms').addColumn('watchdog_reset', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('vms').addColumn('watchdog_reset_at', timestamp).execute();
}
