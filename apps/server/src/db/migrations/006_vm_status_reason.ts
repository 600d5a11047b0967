import type { Kysely } from 'kysely';

/** Why a VM is in its status when the hypervisor says more than the status does (a paused guest: 'io-error'…). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('vms').addColumn('status_reason', 'varchar(200)').execute();
}
