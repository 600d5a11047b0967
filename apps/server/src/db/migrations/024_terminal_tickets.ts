import type { Kysely } from 'kysely';
import type { MigrationContext } from '../migrator.js';

/**
 * Terminal tickets move from each process's memory to the database (issue 16), so a ticket
 * issued by one server process can be redeemed on another behind a load balancer:
 * - terminal_tickets: one row per ticket, keyed by its sha256 (the ticket itself is never stored),
 *   with the credential it was asked with (its hash) so the redeeming process checks it again;
 * - terminal_sessions.process_id: the server process holding a live session, so the session limit
 *   counts every process's sessions and a serial console held by another process is reported.
 */
export async function up(db: Kysely<unknown>, { timestamp }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('terminal_tickets')
    .addColumn('ticket_hash', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('user_id', 'integer', (c) => c.notNull())
    .addColumn('credential_hash', 'varchar(64)', (c) => c.notNull())
    .addColumn('via', 'varchar(16)', (c) => c.notNull())
    .addColumn('vm_id', 'integer', (c) => c.notNull())
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('cols', 'integer', (c) => c.notNull())
    .addColumn('rows', 'integer', (c) => c.notNull())
    .addColumn('source_ip', 'varchar(64)', (c) => c.notNull())
    .addColumn('expires_at', timestamp, (c) => c.notNull())
    .addColumn('used_at', timestamp)
    .addColumn('revoked_at', timestamp)
    .execute();
  await db.schema.createIndex('idx_terminal_tickets_user').on('terminal_tickets').columns(['user_id', 'expires_at']).execute();
  await db.schema.createIndex('idx_terminal_tickets_expires').on('terminal_tickets').column('expires_at').execute();
  await db.schema.alterTable('terminal_sessions').addColumn('process_id', 'text').execute();
}
