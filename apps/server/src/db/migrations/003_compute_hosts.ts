import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from '../migrator.js';

/** Compute hosts (qemu here, libvirt local or remote, vagrant) and where each VM was placed. */
export async function up(db: Kysely<unknown>, { pk, timestamp }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('compute_hosts')
    .addColumn('id', 'integer', pk)
    .addColumn('name', 'varchar(32)', (c) => c.notNull().unique())
    .addColumn('driver', 'varchar(16)', (c) => c.notNull())
    .addColumn('uri', 'varchar(300)')
    .addColumn('ram_mb', 'integer', (c) => c.notNull())
    .addColumn('vcpus', 'integer', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('draining', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', timestamp, (c) => c.notNull())
    .addColumn('updated_at', timestamp, (c) => c.notNull())
    .execute();
  await db.schema.alterTable('vms').addColumn('host_id', 'integer').execute();
  // Where SSH answers when it is not the forwarded ssh_port on TWARGA_SSH_HOST (libvirt: the
  // guest's address; vagrant: its ssh-config).
  await db.schema.alterTable('vms').addColumn('guest_ssh_host', 'varchar(255)').execute();
  await db.schema.alterTable('vms').addColumn('guest_ssh_port', 'integer').execute();
  await db.schema.createIndex('idx_vms_host').on('vms').column('host_id').where(sql.ref('destroyed_at'), 'is', null).execute();
}
