import type { Kysely } from 'kysely';
import type { MigrationContext } from '../migrator.js';

/** Progress lines of long actions (what `vagrant up` prints, for instance), in order. */
export async function up(db: Kysely<unknown>, { pk, timestamp }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('action_log')
    .addColumn('id', 'integer', pk)
    .addColumn('action_id', 'integer', (c) => c.notNull())
    .addColumn('at', timestamp, (c) => c.notNull())
    .addColumn('line', 'varchar(1000)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('idx_action_log_action').on('action_log').columns(['action_id', 'id']).execute();
}
