import type { Kysely } from 'kysely';
import type { MigrationContext } from '../migrator.js';

/**
 * Snapshots, resize, rebuild, instant VMs.
 * - snapshots: point-in-time copies of a VM's disk (and RAM), owned by the VM's owner and kept
 *   after the VM is destroyed (vm_id then NULL; vm_name remembers it). billed_until works like a
 *   VM's: storage is charged per started day up to there.
 * - vms.snapshot_id: the snapshot a VM was created from; vms.boot_path: how its first start went
 *   ('instant' from a warm snapshot, 'cold' boot).
 * - users.quota_max_snapshots: an admin's per-user override of the snapshot quota.
 * - credit_ledger.snapshot_id: storage charges, unique per (snapshot_id, kind, period).
 */
export async function up(db: Kysely<unknown>, { pk, timestamp }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('snapshots')
    .addColumn('id', 'integer', pk)
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id'))
    .addColumn('vm_id', 'integer', (c) => c.references('vms.id'))
    .addColumn('vm_name', 'varchar(64)', (c) => c.notNull())
    .addColumn('name', 'varchar(64)', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('memory', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('quiesced', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('size_bytes', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('image', 'varchar(64)', (c) => c.notNull())
    .addColumn('os_type', 'varchar(64)', (c) => c.notNull())
    .addColumn('disk', 'integer', (c) => c.notNull())
    .addColumn('ram', 'integer', (c) => c.notNull())
    .addColumn('cpu', 'integer', (c) => c.notNull())
    .addColumn('driver', 'varchar(32)', (c) => c.notNull())
    .addColumn('host_id', 'integer')
    .addColumn('error', 'text')
    .addColumn('billed_until', timestamp)
    .addColumn('created_at', timestamp, (c) => c.notNull())
    .addColumn('updated_at', timestamp, (c) => c.notNull())
    .addColumn('deleted_at', timestamp)
    .execute();
  await db.schema.createIndex('idx_snapshots_user').on('snapshots').columns(['user_id', 'deleted_at']).execute();
  await db.schema.createIndex('idx_snapshots_vm').on('snapshots').columns(['vm_id']).execute();

  await db.schema.alterTable('vms').addColumn('snapshot_id', 'integer').execute();
  await db.schema.alterTable('vms').addColumn('boot_path', 'varchar(16)').execute();
  await db.schema.alterTable('users').addColumn('quota_max_snapshots', 'integer').execute();
  await db.schema.alterTable('credit_ledger').addColumn('snapshot_id', 'integer').execute();
  await db.schema.createIndex('uq_credit_ledger_snapshot_charge').on('credit_ledger').columns(['snapshot_id', 'kind', 'period']).unique().execute();
}
