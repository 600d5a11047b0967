import type { Kysely } from 'kysely';

/**
 * Each libvirt host may name its own storage pool (null: the server's TWARGA_LIBVIRT_POOL), so
 * two hosts behind one libvirtd, or hosts set up differently, keep their volumes apart.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('compute_hosts').addColumn('pool', 'varchar(32)').execute();
}
