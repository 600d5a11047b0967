import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from '../migrator.js';

/**
 * Images built on this host (kind 'built': debian-12, from Debian's packages) and each image's SSH user.
 * - images.ssh_user: the user VMs of the image log in as (cloud-init's default user); VMs copy it.
 * - The pre-listed official Debian cloud image (kind 'url') moves from slug debian-12 to
 *   debian-12-genericcloud, so debian-12 can be the image built here. An official one already
 *   downloaded (status available) keeps its slug, file and VMs: that server then has no built
 *   debian-12 (the builder skips a debian-12 row that is not kind 'built').
 */
export async function up(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema.alterTable('images').addColumn('ssh_user', 'varchar(32)', (c) => c.notNull().defaultTo('root')).execute();
  await sql`UPDATE images SET ssh_user = 'ubuntu' WHERE os_type = 'ubuntu' AND kind = 'url'`.execute(db);
  await sql`UPDATE images SET ssh_user = 'debian' WHERE os_type = 'debian' AND kind = 'url'`.execute(db);
  await sql`UPDATE images SET slug = 'debian-12-genericcloud' WHERE slug = 'debian-12' AND kind = 'url' AND status <> 'available'
    AND NOT EXISTS (SELECT 1 FROM images WHERE slug = 'debian-12-genericcloud')`.execute(db);
}
