import type { Insertable, Selectable, Updateable } from 'kysely';
import type { Db } from '../../db/database.js';
import type { SnapshotsTable } from '../../db/schema.js';

export type SnapshotRow = Selectable<SnapshotsTable>;
export type NewSnapshotRow = Insertable<SnapshotsTable>;

/**
 * Every read and write of the snapshots table. A deleted snapshot keeps its row (deleted_at set)
 * for its billing history; "live" below means not deleted. Storage metering's reads and moves of
 * billed_until are billing's (modules/billing/snapshot-metering.repository.ts), like a VM's.
 */
export class SnapshotsRepository {
  constructor(private readonly db: Db) {}

  async insert(row: NewSnapshotRow): Promise<SnapshotRow> {
    return this.db.insertInto('snapshots').values(row).returningAll().executeTakeFirstOrThrow();
  }

  find(id: number): Promise<SnapshotRow | undefined> {
    return this.db.selectFrom('snapshots').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** One user's live snapshots, newest first. */
  listForUser(userId: number): Promise<SnapshotRow[]> {
    return this.db.selectFrom('snapshots').selectAll().where('user_id', '=', userId).where('deleted_at', 'is', null).orderBy('id', 'desc').execute();
  }

  /** One VM's live snapshots, newest first. */
  listForVm(vmId: number): Promise<SnapshotRow[]> {
    return this.db.selectFrom('snapshots').selectAll().where('vm_id', '=', vmId).where('deleted_at', 'is', null).orderBy('id', 'desc').execute();
  }

  /** Every live snapshot (the reconciler), oldest first. */
  listLive(): Promise<SnapshotRow[]> {
    return this.db.selectFrom('snapshots').selectAll().where('deleted_at', 'is', null).orderBy('id').execute();
  }

  /** How many snapshots count against the user's quota: every live one, failed ones too (they hold a name until deleted). */
  async countLive(userId: number): Promise<number> {
    const row = await this.db
      .selectFrom('snapshots')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', userId)
      .where('deleted_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async nameTaken(userId: number, name: string): Promise<boolean> {
    const row = await this.db.selectFrom('snapshots').select('id').where('user_id', '=', userId).where('name', '=', name).where('deleted_at', 'is', null).executeTakeFirst();
    return row !== undefined;
  }

  async update(id: number, patch: Updateable<SnapshotsTable>): Promise<SnapshotRow> {
    return this.db.updateTable('snapshots').set(patch).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
  }

  /**
   * Moves a live snapshot from one status to another only if it still has the first: two
   * deletes (or a delete and the reconciler) never both proceed. Undefined when it had not.
   */
  async transition(id: number, from: string, patch: Updateable<SnapshotsTable>): Promise<SnapshotRow | undefined> {
    return this.db.updateTable('snapshots').set(patch).where('id', '=', id).where('status', '=', from).where('deleted_at', 'is', null).returningAll().executeTakeFirst();
  }

  /** The row stays (billing history); the snapshot leaves every list and frees its name and quota slot. */
  async markDeleted(id: number, now: string): Promise<void> {
    await this.db.updateTable('snapshots').set({ deleted_at: now, updated_at: now }).where('id', '=', id).where('deleted_at', 'is', null).execute();
  }

  /** The VM was destroyed: its snapshots live on, no longer tied to it (vm_name remembers it). */
  async detachVm(vmId: number, now: string): Promise<void> {
    await this.db.updateTable('snapshots').set({ vm_id: null, updated_at: now }).where('vm_id', '=', vmId).execute();
  }
}
