import type { Action, ActionStatus, ActionType } from '@twarga/contract';
import type { Db } from '../db/database.js';

type ActionRow = { id: number; vm_id: number; user_id: number; type: string; status: string; started_at: string; completed_at: string | null; error: string | null; forced: number };

const toAction = ({ id, vm_id, user_id, type, status, started_at, completed_at, error, forced }: ActionRow): Action => ({
  id, vm_id, user_id, started_at, completed_at, error,
  type: type as ActionType,
  status: status as ActionStatus,
  forced: forced === 1,
});

/**
 * Who runs the actions this repository starts: this server process, vouching for leaseMs at a
 * time. Leases are wall-clock time (Date.now), not the app's Clock: they say whether a process is
 * alive now, which a test's clock moved forward must not change.
 */
export interface ActionRunner {
  id: string;
  leaseMs: number;
}

const wallNow = () => new Date().toISOString();

/**
 * Actions are durable work items: each open action names the server process running it and a
 * lease that process renews. An open action whose lease ran out was left by a dead process;
 * another process claims it (a compare-and-set on the lease, so exactly one wins) and finishes it.
 */
export class ActionsRepository {
  constructor(
    private readonly db: Db,
    private readonly runner: ActionRunner,
  ) {}

  private leaseEnd(): string {
    return new Date(Date.now() + this.runner.leaseMs).toISOString();
  }

  async insert(a: { vmId: number; userId: number; type: ActionType; now: string; forced?: boolean }, db: Db = this.db): Promise<Action> {
    const row = await db
      .insertInto('actions')
      .values({
        vm_id: a.vmId, user_id: a.userId, type: a.type, status: 'in-progress', started_at: a.now, completed_at: null, error: null,
        forced: a.forced ? 1 : 0, runner: this.runner.id, lease_expires_at: this.leaseEnd(),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toAction(row);
  }

  /**
   * Records the outcome, if this process still runs the action: undefined when another process
   * took it over meanwhile (this one stalled past its lease), whose outcome then counts.
   */
  async finish(id: number, outcome: { status: 'completed' | 'errored'; error?: string; now: string }): Promise<Action | undefined> {
    const row = await this.db
      .updateTable('actions')
      .set({ status: outcome.status, error: outcome.error ?? null, completed_at: outcome.now, lease_expires_at: null })
      .where('id', '=', id)
      .where('runner', '=', this.runner.id)
      .returningAll()
      .executeTakeFirst();
    return row && toAction(row);
  }

  /** Vouches again for the given open actions, those this process really runs now. */
  async renewLeases(ids: readonly number[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db
      .updateTable('actions')
      .set({ lease_expires_at: this.leaseEnd() })
      .where('id', 'in', ids)
      .where('runner', '=', this.runner.id)
      .where('status', '=', 'in-progress')
      .execute();
  }

  /**
   * Claims open actions nobody vouches for any more: their lease ran out (or, with everyone, all
   * of them: at start-up on SQLite, where no other process can exist), except those this process
   * runs (`running`). Each claim is a compare-and-set on the runner and lease it read, so two
   * processes never both win one.
   */
  async claimAbandoned(opts: { everyone?: boolean; running?: readonly number[] } = {}): Promise<(Action & { previousRunner: string | null })[]> {
    const now = wallNow();
    let candidates = this.db.selectFrom('actions').select(['id', 'runner', 'lease_expires_at']).where('status', '=', 'in-progress');
    if (!opts.everyone) candidates = candidates.where((eb) => eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<', now)]));
    if (opts.running?.length) candidates = candidates.where('id', 'not in', opts.running);
    const claimed: (Action & { previousRunner: string | null })[] = [];
    for (const c of await candidates.orderBy('id').limit(100).execute()) {
      const row = await this.db
        .updateTable('actions')
        .set({ runner: this.runner.id, lease_expires_at: this.leaseEnd() })
        .where('id', '=', c.id)
        .where('status', '=', 'in-progress')
        .where((eb) => (c.runner === null ? eb('runner', 'is', null) : eb('runner', '=', c.runner)))
        .where((eb) => (c.lease_expires_at === null ? eb('lease_expires_at', 'is', null) : eb('lease_expires_at', '=', c.lease_expires_at)))
        .returningAll()
        .executeTakeFirst();
      if (row) claimed.push({ ...toAction(row), previousRunner: c.runner });
    }
    return claimed;
  }

  /** Gives a claimed action back at once (carrying it on failed): the next pass claims it again. */
  async release(id: number): Promise<void> {
    await this.db.updateTable('actions').set({ lease_expires_at: null }).where('id', '=', id).where('runner', '=', this.runner.id).execute();
  }

  /** True while a live process runs an action on the VM (its lock is real, not a crash's leftover). */
  async hasLiveAction(vmId: number): Promise<boolean> {
    const row = await this.db
      .selectFrom('actions')
      .select('id')
      .where('vm_id', '=', vmId)
      .where('status', '=', 'in-progress')
      .where('lease_expires_at', '>', wallNow())
      .executeTakeFirst();
    return row !== undefined;
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
