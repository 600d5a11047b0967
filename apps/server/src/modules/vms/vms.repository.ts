import { sql, type Selectable, type Updateable } from 'kysely';
import type { Db } from '../../db/database.js';
import type { VmsTable } from '../../db/schema.js';

export type VmRow = Selectable<VmsTable>;
export type NewVmRow = Omit<VmRow, 'id'>;

export class VmsRepository {
  constructor(private readonly db: Db) {}

  async insert(row: NewVmRow, db: Db = this.db): Promise<VmRow> {
    return db.insertInto('vms').values(row).returningAll().executeTakeFirstOrThrow();
  }

  find(id: number): Promise<VmRow | undefined> {
    return this.db.selectFrom('vms').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Live VMs (not destroyed): one user's, or everyone's. */
  listLive(userId?: number): Promise<VmRow[]> {
    let q = this.db.selectFrom('vms').selectAll().where('destroyed_at', 'is', null).orderBy('id');
    if (userId !== undefined) q = q.where('user_id', '=', userId);
    return q.execute();
  }

  /** What the metrics collector needs of each running VM. */
  listRunning() {
    return this.db
      .selectFrom('vms')
      .select(['id', 'user_id', 'cpu', 'ip_address', 'booted_at', 'host_id'])
      .where('status', '=', 'running')
      .where('destroyed_at', 'is', null)
      .orderBy('id')
      .execute();
  }

  async nameTaken(userId: number, name: string): Promise<boolean> {
    const row = await this.db.selectFrom('vms').select('id').where('user_id', '=', userId).where('name', '=', name).where('destroyed_at', 'is', null).executeTakeFirst();
    return row !== undefined;
  }

  async usage(userId: number): Promise<{ count: number; ram: number; cpu: number }> {
    const row = await this.db
      .selectFrom('vms')
      .select((eb) => [eb.fn.countAll<number>().as('count'), eb.fn.coalesce(eb.fn.sum<number>('ram'), eb.lit(0)).as('ram'), eb.fn.coalesce(eb.fn.sum<number>('cpu'), eb.lit(0)).as('cpu')])
      .where('user_id', '=', userId)
      .where('destroyed_at', 'is', null)
      .executeTakeFirstOrThrow();
    return { count: Number(row.count), ram: Number(row.ram), cpu: Number(row.cpu) };
  }

  async usedPorts(): Promise<Set<number>> {
    const rows = await this.db.selectFrom('vms').select('ssh_port').where('ssh_port', 'is not', null).execute();
    return new Set(rows.map((r) => r.ssh_port!));
  }

  async update(id: number, patch: Updateable<VmsTable>): Promise<VmRow> {
    return this.db.updateTable('vms').set(patch).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
  }

  /** Takes the VM's lock; false if another action holds it (or the VM is gone). */
  async tryLock(id: number, now: string): Promise<boolean> {
    const rows = await this.db
      .updateTable('vms')
      .set({ locked: 1, updated_at: now })
      .where('id', '=', id)
      .where('locked', '=', 0)
      .where('destroyed_at', 'is', null)
      .returning('id')
      .execute();
    return rows.length === 1;
  }

  /**
   * VMs with an hour begun and not paid: live ones whose paid time has run out, and destroyed
   * ones that lived into an hour the billing pass had not charged yet (it runs once a minute).
   */
  dueForBilling(now: string): Promise<VmRow[]> {
    return this.db
      .selectFrom('vms')
      .selectAll()
      .where('billed_until', 'is not', null)
      .where((eb) =>
        eb.or([
          eb.and([eb('destroyed_at', 'is', null), eb('billed_until', '<=', now)]),
          eb.and([eb('destroyed_at', 'is not', null), eb('billed_until', '<', eb.ref('destroyed_at'))]),
        ]),
      )
      .orderBy('id')
      .execute();
  }

  /** Moves the paid-up mark only if nobody else did (so an hour is never charged twice). */
  async advanceBilledUntil(id: number, from: string, to: string, db: Db = this.db): Promise<boolean> {
    const rows = await db.updateTable('vms').set({ billed_until: to }).where('id', '=', id).where('billed_until', '=', from).returning('id').execute();
    return rows.length === 1;
  }

  /**
   * Applies the patch and starts the billing clock at billedUntil unless it already runs, in one
   * statement: a VM is never left running without a paid-up mark, and a later adoption or start
   * never moves the mark of a VM already billed.
   */
  async updateStartingBilling(id: number, patch: Updateable<VmsTable>, billedUntil: string): Promise<VmRow> {
    return this.db
      .updateTable('vms')
      .set({ ...patch, billed_until: sql<string>`coalesce(billed_until, ${billedUntil})` })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** Runs fn in one transaction (e.g. moving the paid-up mark and writing its ledger row together). */
  transaction<T>(fn: (trx: Db) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(fn);
  }

  /** Releases a lock that no action holds any more (its action ended in a crash or a failed write). */
  async unlock(id: number, now: string): Promise<void> {
    await this.db.updateTable('vms').set({ locked: 0, updated_at: now }).where('id', '=', id).execute();
  }

  async unlockAll(): Promise<void> {
    await this.db.updateTable('vms').set({ locked: 0 }).where('locked', '=', 1).execute();
  }

  /** VMs created before compute hosts existed are on this machine's host. */
  async assignUnplaced(hostId: number): Promise<void> {
    await this.db.updateTable('vms').set({ host_id: hostId }).where('host_id', 'is', null).execute();
  }
}
