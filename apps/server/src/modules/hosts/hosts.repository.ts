import type { Insertable, Selectable, Updateable } from 'kysely';
import type { Db } from '../../db/database.js';
import type { ComputeHostsTable } from '../../db/schema.js';

export type HostRow = Selectable<ComputeHostsTable>;
export interface HostUsage {
  vms: number;
  ram_mb: number;
  vcpus: number;
}

export class HostsRepository {
  constructor(private readonly db: Db) {}

  list(): Promise<HostRow[]> {
    return this.db.selectFrom('compute_hosts').selectAll().orderBy('id').execute();
  }

  find(id: number): Promise<HostRow | undefined> {
    return this.db.selectFrom('compute_hosts').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async insert(row: Insertable<ComputeHostsTable>): Promise<HostRow> {
    return this.db.insertInto('compute_hosts').values(row).returningAll().executeTakeFirstOrThrow();
  }

  async update(id: number, changes: Updateable<ComputeHostsTable>): Promise<HostRow> {
    return this.db.updateTable('compute_hosts').set(changes).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
  }

  /** Updates the host only while no live VM is placed on it (one statement: no VM slips in between); undefined otherwise. */
  async updateIfNoVms(id: number, changes: Updateable<ComputeHostsTable>): Promise<HostRow | undefined> {
    return this.db
      .updateTable('compute_hosts')
      .set(changes)
      .where('id', '=', id)
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('vms').select('vms.id').where('vms.host_id', '=', id).where('vms.destroyed_at', 'is', null))),
      )
      .returningAll()
      .executeTakeFirst();
  }

  async remove(id: number): Promise<void> {
    await this.db.deleteFrom('compute_hosts').where('id', '=', id).execute();
  }

  async nameTaken(name: string, exceptId?: number): Promise<boolean> {
    let q = this.db.selectFrom('compute_hosts').select('id').where('name', '=', name);
    if (exceptId !== undefined) q = q.where('id', '!=', exceptId);
    return (await q.executeTakeFirst()) !== undefined;
  }

  /** What each host's live VMs use. */
  async usage(): Promise<Map<number, HostUsage>> {
    const rows = await this.db
      .selectFrom('vms')
      .select((eb) => ['host_id', eb.fn.countAll<number>().as('vms'), eb.fn.sum<number>('ram').as('ram_mb'), eb.fn.sum<number>('cpu').as('vcpus')])
      .where('destroyed_at', 'is', null)
      .where('host_id', 'is not', null)
      .groupBy('host_id')
      .execute();
    return new Map(rows.map((r) => [Number(r.host_id), { vms: Number(r.vms), ram_mb: Number(r.ram_mb), vcpus: Number(r.vcpus) }]));
  }

  /** Hosts any VM was ever placed on (destroyed ones included: their leftovers may remain). */
  async usedHostIds(): Promise<Set<number>> {
    const rows = await this.db.selectFrom('vms').select('host_id').distinct().where('host_id', 'is not', null).execute();
    return new Set(rows.map((r) => Number(r.host_id)));
  }
}
