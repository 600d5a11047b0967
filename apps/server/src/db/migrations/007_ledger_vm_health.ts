import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from '../migrator.js';

/**
 * Ledger rows that belong to one VM event, and the health write probe.
 * - credit_ledger.vm_id/kind: the first hour is charged when a launch is admitted and refunded
 *   when that launch never runs; (vm_id, kind) is unique so each happens at most once per VM,
 *   whoever (failure handler, reconciler after a crash) asks first. Other rows leave kind NULL,
 *   which a unique index never compares.
 * - health_heartbeat: one row that GET /health updates, so the check is a real committed write.
 */
export async function up(db: Kysely<unknown>, { timestamp }: MigrationContext): Promise<void> {
  await db.schema.alterTable('credit_ledger').addColumn('vm_id', 'integer').execute();
  await db.schema.alterTable('credit_ledger').addColumn('kind', 'varchar(32)').execute();
  await db.schema.createIndex('uq_credit_ledger_vm_kind').on('credit_ledger').columns(['vm_id', 'kind']).unique().execute();
  await db.schema
    .createTable('health_heartbeat')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('checked_at', timestamp, (c) => c.notNull())
    .execute();
  await sql`INSERT INTO health_heartbeat (id, checked_at) VALUES (1, ${new Date().toISOString()})`.execute(db);
}
