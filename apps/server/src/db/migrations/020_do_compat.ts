import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from '../migrator.js';

/**
 * The DigitalOcean-compatible API (/v2) and tags.
 * - images.id: a stable integer per image (DO clients address images by integer id or slug).
 *   Existing rows are numbered in creation order; the repository gives new rows max + 1.
 * - vm_tags: a VM's tags (DO droplet tags: ?tag_name= filters list and delete). Rows go with
 *   their VM's row, which is kept after destroy, so tags are never orphaned.
 */
export async function up(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema.alterTable('images').addColumn('id', 'integer').execute();
  const rows = await sql<{ slug: string }>`SELECT slug FROM images ORDER BY created_at, slug`.execute(db);
  let next = 1;
  for (const { slug } of rows.rows) await sql`UPDATE images SET id = ${next++} WHERE slug = ${slug}`.execute(db);
  await db.schema.createIndex('uq_images_id').on('images').column('id').unique().execute();

  await db.schema
    .createTable('vm_tags')
    .addColumn('vm_id', 'integer', (c) => c.notNull().references('vms.id'))
    .addColumn('tag', 'varchar(255)', (c) => c.notNull())
    .addPrimaryKeyConstraint('pk_vm_tags', ['vm_id', 'tag'])
    .execute();
  await db.schema.createIndex('idx_vm_tags_tag').on('vm_tags').column('tag').execute();
}
