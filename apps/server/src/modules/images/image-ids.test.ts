import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import { migrate } from '../../db/migrator.js';
import { createTestDatabase, testDatabaseKinds } from '../../test-support/databases.js';
import { ImagesRepository } from './images.repository.js';

/** DO clients address images by integer id: every image has a stable one (migration 020). */
for (const kind of testDatabaseKinds()) {
  describe(`image ids (${kind})`, () => {
    test('existing images are numbered in creation order; a new image gets the next id; ids never change', async () => {
      const db = await createTestDatabase(kind);
      try {
        const k = db.handle.db;
        // The database as it was before 020, with three images of known ages.
        await k.schema.dropIndex('uq_images_id').execute();
        await k.schema.alterTable('images').dropColumn('id').execute();
        await k.schema.dropTable('vm_tags').execute();
        await sql`DELETE FROM twarga_migrations WHERE name = '020_do_compat'`.execute(k);
        await k.deleteFrom('images').execute();
        const row = (slug: string, created_at: string) => ({
          slug, name: slug, distribution: 'D', version: '1', os_type: slug, min_disk: 1, kind: 'url', url: 'https://example.com/x', sha256: null,
          checksums_url: null, format: null, size_bytes: null, status: 'pending', progress: null, error: null, created_at, ssh_user: 'root',
        });
        await sql`INSERT INTO images (slug, name, distribution, version, os_type, min_disk, kind, url, status, created_at, ssh_user) VALUES
          ('zeta', 'zeta', 'D', '1', 'zeta', 1, 'url', 'https://example.com/x', 'pending', '2026-01-01T00:00:00.000Z', 'root'),
          ('alpha', 'alpha', 'D', '1', 'alpha', 1, 'url', 'https://example.com/x', 'pending', '2026-03-01T00:00:00.000Z', 'root'),
          ('mid', 'mid', 'D', '1', 'mid', 1, 'url', 'https://example.com/x', 'pending', '2026-02-01T00:00:00.000Z', 'root')`.execute(k);
        await migrate(k as never, db.handle.kind);

        const repo = new ImagesRepository(k);
        const ids = async () => Object.fromEntries((await repo.list()).map((r) => [r.slug, r.id]));
        assert.deepEqual(await ids(), { zeta: 1, mid: 2, alpha: 3 });
        const added = await repo.insert(row('new', '2026-04-01T00:00:00.000Z') as never);
        assert.equal(added.id, 4);
        assert.equal((await repo.findById(4))?.slug, 'new');
        await repo.delete('mid');
        await repo.insert(row('later', '2026-05-01T00:00:00.000Z') as never);
        assert.deepEqual(await ids(), { zeta: 1, alpha: 3, new: 4, later: 5 }, 'a deleted id is not reused while a higher one exists');
        await assert.rejects(k.insertInto('images').values({ ...row('dup', '2026-06-01T00:00:00.000Z'), id: 1 } as never).execute(), 'ids are unique');
      } finally {
        await db.cleanup();
      }
    });
  });
}
