import type { Action, ActionStatus, ActionType } from '@twarga/contract';
import type { Db } from '../db/database.js';

const toAction = (r: { id: number; vm_id: number; user_id: number; type: string; status: string; started_at: string; completed_at: string | null; error: string | null; forced: number }): Action => ({
  ...r,
  type: r.type as ActionType,
  status: r.status as ActionStatus,
  forced: r.forced === 1,
});

export class ActionsRepository {
  constructor(private readonly db: Db) {}

  async insert(a: { vmId: number; userId: number; type: ActionType; now: string; forced?: boolean }, db: Db = this.db): Promise<Action> {
    const row = await db
      .insertInto('actions')
      .values({ vm_id: a.vmId, user_id: a.userId, type: a.type, status: 'in-progress', started_at: a.now, completed_at: null, error: null, forced: a.forced ? 1 : 0 })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toAction(row);
  }

  async finish(id: number, outcome: { status: 'completed' | 'errored'; error?: string; now: string }): Promise<Action> {
    const row = await this.db
      .updateTable('actions')
      .set({ status: outcome.status, error: outcome.error ?? null, completed_at: outcome.now })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    return toAction(row);
  }

  async get(id: number): Promise<Action | undefined> {
    const row = await this.db.selectFrom('actions').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toAction(row);
  }

  async listForVm(vmId: number): Promise<Action[]> {
    return (await this.db.selectFrom('actions').selectAll().where('vm_id', '=', vmId).orderBy('id', 'desc').limit(100).execute()).map(toAction);
  }

  /** One user's actions on all their VMs (destroyed ones too), newest first, at most `limit`. */
  async listForUser(userId: number, limit: number): Promise<Action[]> {
    return (await this.db.selectFrom('actions').selectAll().where('user_id', '=', userId).orderBy('id', 'desc').limit(limit).execute()).map(toAction);
  }

  /** Actions a server crash left open: they can no longer finish. */
  async failInterrupted(now: string): Promise<number> {
    const rows = await this.db
      .updateTable('actions')
      .set({ status: 'errored', error: 'interrupted: the server restarted during this action', completed_at: now })
      .where('status', '=', 'in-progress')
      .returning('id')
      .execute();
    return rows.length;
  }

  /** A VM's actions still open though no action runs on it any more (their lock was stale). */
  async failOpenForVm(vmId: number, now: string, error: string): Promise<number> {
    const rows = await this.db
      .updateTable('actions')
      .set({ status: 'errored', error, completed_at: now })
      .where('vm_id', '=', vmId)
      .where('status', '=', 'in-progress')
      .returning('id')
      .execute();
    return rows.length;
  }

  async appendLog(actionId: number, at: string, line: string): Promise<void> {
    await this.db.insertInto('action_log').values({ action_id: actionId, at, line: line.slice(0, 1000) }).execute();
  }

  async log(actionId: number): Promise<{ at: string; line: string }[]> {
    return this.db.selectFrom('action_log').select(['at', 'line']).where('action_id', '=', actionId).orderBy('id').execute();
  }
}
