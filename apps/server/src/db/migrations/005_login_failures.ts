import type { Kysely } from 'kysely';
import type { MigrationContext } from '../migrator.js';

/**
 * Failed logins per account and source address. Lockout counts here instead of on the user row,
 * so a stranger's failures from their own address never lock the owner out of theirs. The key is
 * "user:<id>" for an existing account and "login:<name>" for an unknown one: both lock alike,
 * so a lockout tells nothing about whether the account exists.
 */
export async function up(db: Kysely<unknown>, { timestamp }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('login_failures')
    .addColumn('account_key', 'varchar(400)', (c) => c.notNull())
    .addColumn('source_ip', 'varchar(64)', (c) => c.notNull())
    .addColumn('failures', 'integer', (c) => c.notNull())
    .addColumn('locked_until', timestamp)
    .addColumn('last_failed_at', timestamp, (c) => c.notNull())
    .addPrimaryKeyConstraint('login_failures_pk', ['account_key', 'source_ip'])
    .execute();
  // Expired rows are pruned by age.
  await db.schema.createIndex('idx_login_failures_last').on('login_failures').column('last_failed_at').execute();
}
