import type { Db } from '../db/database.js';
import type { ServerProcessesTable } from '../db/schema.js';
import type { Selectable } from 'kysely';

export type ServerProcessRow = Selectable<ServerProcessesTable>;

/** server_processes: who is serving on this database, and when each was last seen. */
export class ServerProcessesRepository {
  constructor(private readonly db: Db) {}

  /** Records this process as seen now (inserted on its first beat). */
  async beat(p: Omit<ServerProcessRow, 'last_seen_at' | 'leading'>, leading: boolean, now: string): Promise<void> {
    await this.db
      .insertInto('server_processes')
      .values({ ...p, last_seen_at: now, leading: leading ? 1 : 0 })
      .onConflict((oc) => oc.column('id').doUpdateSet({ last_seen_at: now, leading: leading ? 1 : 0 }))
      .execute();
  }

  async list(): Promise<ServerProcessRow[]> {
    return this.db.selectFrom('server_processes').selectAll().orderBy('started_at').execute();
  }

  async remove(id: string): Promise<void> {
    await this.db.deleteFrom('server_processes').where('id', '=', id).execute();
  }

  /** Forgets processes not seen since `before` (they died long ago). */
  async removeUnseenSince(before: string): Promise<void> {
    await this.db.deleteFrom('server_processes').where('last_seen_at', '<', before).execute();
  }
}
