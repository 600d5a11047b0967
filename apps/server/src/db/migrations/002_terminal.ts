import type { Kysely } from 'kysely';
import type { MigrationContext } from '../migrator.js';

/** Browser terminal: each VM's console key pair (private half encrypted) and every session held. */
export async function up(db: Kysely<unknown>, { pk, timestamp }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('vm_console_keys')
    .addColumn('vm_id', 'integer', (c) => c.primaryKey())
    .addColumn('public_key', 'text', (c) => c.notNull())
    // AES-256-GCM under secrets.json's consoleKeyKey: a copied database alone does not open VMs.
    .addColumn('private_key_enc', 'text', (c) => c.notNull())
    // The guest's SSH host key, pinned at the first connection (trust on first use).
    .addColumn('host_key_sha256', 'varchar(64)')
    .addColumn('created_at', timestamp, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('terminal_sessions')
    .addColumn('id', 'integer', pk)
    .addColumn('vm_id', 'integer', (c) => c.notNull())
    .addColumn('user_id', 'integer', (c) => c.notNull())
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('source_ip', 'varchar(64)')
    .addColumn('cols', 'integer', (c) => c.notNull())
    .addColumn('rows', 'integer', (c) => c.notNull())
    .addColumn('started_at', timestamp, (c) => c.notNull())
    .addColumn('ended_at', timestamp)
    .addColumn('end_reason', 'varchar(32)')
    .addColumn('bytes_in', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('bytes_out', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('recording_bytes', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('recording_truncated', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('recording_deleted_at', timestamp)
    .execute();
  await db.schema.createIndex('idx_terminal_sessions_vm').on('terminal_sessions').columns(['vm_id', 'id']).execute();
  await db.schema.createIndex('idx_terminal_sessions_open').on('terminal_sessions').column('ended_at').execute();
}
