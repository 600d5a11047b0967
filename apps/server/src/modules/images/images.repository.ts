import type { Insertable, Selectable, Updateable } from 'kysely';
import type { Image } from '@twarga/contract';
import type { Db } from '../../db/database.js';
import type { ImagesTable } from '../../db/schema.js';

export type ImageRow = Selectable<ImagesTable>;
/** A new image: its integer id is numbered by the repository. */
export type NewImageRow = Omit<Insertable<ImagesTable>, 'id'>;

export const toImage = (r: ImageRow): Image => ({
  slug: r.slug,
  name: r.name,
  distribution: r.distribution,
  version: r.version,
  min_disk: r.min_disk,
  kind: r.kind,
  status: r.status,
  progress: r.progress,
  error: r.error,
  ssh_user: r.ssh_user,
});

export class ImagesRepository {
  constructor(private readonly db: Db) {}

  list(): Promise<ImageRow[]> {
    return this.db.selectFrom('images').selectAll().orderBy('kind').orderBy('slug').execute();
  }

  find(slug: string): Promise<ImageRow | undefined> {
    return this.db.selectFrom('images').selectAll().where('slug', '=', slug).executeTakeFirst();
  }

  findByOsType(osType: string): Promise<ImageRow[]> {
    return this.db.selectFrom('images').selectAll().where('os_type', '=', osType).orderBy('slug', 'desc').execute();
  }

  findById(id: number): Promise<ImageRow | undefined> {
    return this.db.selectFrom('images').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async insert(row: NewImageRow): Promise<ImageRow> {
    // Images are added rarely (catalog seeding, an admin); the unique index catches a race.
    const { max } = await this.db.selectFrom('images').select((eb) => eb.fn.max('id').as('max')).executeTakeFirstOrThrow();
    const stored = { ...row, id: Number(max ?? 0) + 1 } as ImageRow;
    await this.db.insertInto('images').values(stored).execute();
    return stored;
  }

  async update(slug: string, patch: Updateable<ImagesTable>): Promise<void> {
    await this.db.updateTable('images').set(patch).where('slug', '=', slug).execute();
  }

  async delete(slug: string): Promise<void> {
    await this.db.deleteFrom('images').where('slug', '=', slug).execute();
  }

  /**
   * Inserts the row if missing; otherwise refreshes only a built-in image's status (catalog
   * seeding at start). A built or downloaded image's status belongs to its builder or download.
   */
  async upsert(row: NewImageRow): Promise<void> {
    const existing = await this.find(row.slug);
    if (!existing) {
      await this.insert(row);
    } else if (row.kind === 'builtin' && existing.status !== row.status) {
      await this.db.updateTable('images').set({ status: row.status, error: row.error }).where('slug', '=', row.slug).execute();
    }
  }
}
