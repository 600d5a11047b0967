import type { Insertable, Selectable, Updateable } from 'kysely';
import type { Db } from '../../db/database.js';
import type { TerminalSessionsTable } from '../../db/schema.js';

export type TerminalSessionRow = Selectable<TerminalSessionsTable> & { vm_name: string | null; username: string | null };

export class TerminalSessionsRepository {
  constructor(private readonly db: Db) {}

  private select() {
    return this.db
      .selectFrom('terminal_sessions as s')
      .leftJoin('vms as v', 'v.id', 's.vm_id')
      .leftJoin('users as u', 'u.id', 's.user_id')
      .selectAll('s')
      .select(['v.name as vm_name', 'u.username as username']);
  }

  async insert(row: Insertable<TerminalSessionsTable>): Promise<number> {
    const { id } = await this.db.insertInto('terminal_sessions').values(row).returning('id').executeTakeFirstOrThrow();
    return id;
  }

  async update(id: number, changes: Updateable<TerminalSessionsTable>): Promise<void> {
    await this.db.updateTable('terminal_sessions').set(changes).where('id', '=', id).execute();
  }

  find(id: number): Promise<TerminalSessionRow | undefined> {
    return this.select().where('s.id', '=', id).executeTakeFirst();
  }

  findMany(ids: number[]): Promise<TerminalSessionRow[]> {
    return ids.length ? this.select().where('s.id', 'in', ids).orderBy('s.id').execute() : Promise.resolve([]);
  }

  recentForVm(vmId: number, limit: number): Promise<TerminalSessionRow[]> {
    return this.select().where('s.vm_id', '=', vmId).where('s.ended_at', 'is not', null).orderBy('s.id', 'desc').limit(limit).execute();
  }

  /** Sessions a crash left open: they ended when the server did. */
  async closeAbandoned(endedAt: string): Promise<number> {
    const rows = await this.db
      .updateTable('terminal_sessions')
      .set({ ended_at: endedAt, end_reason: 'server_shutdown' })
      .where('ended_at', 'is', null)
      .returning('id')
      .execute();
    return rows.length;
  }

  /** Ended sessions whose recording is older than the cutoff and still on disk. */
  expiredRecordings(cutoff: string): Promise<{ id: number }[]> {
    return this.db
      .selectFrom('terminal_sessions')
      .select('id')
      .where('ended_at', '<', cutoff)
      .where('recording_deleted_at', 'is', null)
      .execute();
  }
}
