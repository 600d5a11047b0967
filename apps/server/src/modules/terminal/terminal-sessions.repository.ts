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

  /** Open sessions held by live server processes (of one VM when given), oldest first. */
  openOn(liveProcesses: string[], vmId?: number): Promise<TerminalSessionRow[]> {
    let q = this.select().where('s.ended_at', 'is', null).where('s.process_id', 'in', liveProcesses);
    if (vmId !== undefined) q = q.where('s.vm_id', '=', vmId);
    return q.orderBy('s.id').execute();
  }

  recentForVm(vmId: number, limit: number): Promise<TerminalSessionRow[]> {
    return this.select().where('s.vm_id', '=', vmId).where('s.ended_at', 'is not', null).orderBy('s.id', 'desc').limit(limit).execute();
  }

  /** Sessions a crash left open (held by no live process): they ended when their server did. */
  async closeAbandoned(endedAt: string, liveProcesses: string[]): Promise<number> {
    const rows = await this.db
      .updateTable('terminal_sessions')
      .set({ ended_at: endedAt, end_reason: 'server_shutdown' })
      .where('ended_at', 'is', null)
      .where((eb) => eb.or([eb('process_id', 'is', null), eb('process_id', 'not in', liveProcesses)]))
      .returning('id')
      .execute();
    return rows.length;
  }

  /** The user's open sessions held by live server processes (a dead process's rows do not count). */
  async countOpen(userId: number, liveProcesses: string[]): Promise<number> {
    const { n } = await this.db
      .selectFrom('terminal_sessions')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('user_id', '=', userId)
      .where('ended_at', 'is', null)
      .where('process_id', 'in', liveProcesses)
      .executeTakeFirstOrThrow();
    return Number(n);
  }

  /**
   * The process holding the VM's serial console, if another live one does: the process of the
   * earliest open serial session before `beforeId` (of two opened at once, the first keeps it).
   */
  async serialHolderOtherThan(vmId: number, self: string, liveProcesses: string[], beforeId: number): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('terminal_sessions')
      .select('process_id')
      .where('vm_id', '=', vmId)
      .where('kind', '=', 'serial')
      .where('ended_at', 'is', null)
      .where('id', '<', beforeId)
      .where('process_id', 'in', liveProcesses)
      .where('process_id', '!=', self)
      .orderBy('id')
      .executeTakeFirst();
    return row?.process_id ?? undefined;
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
