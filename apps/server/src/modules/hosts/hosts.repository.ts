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

  /** The live VMs placed on a host, oldest first, with their owner's username: what draining it leaves to move. */
  vmsOn(hostId: number): Promise<{ id: number; name: string; owner: string; status: string }[]> {
    return this.db
      .selectFrom('vms')
      .innerJoin('users', 'users.id', 'vms.user_id')
      .select(['vms.id', 'vms.name', 'users.username as owner', 'vms.status'])
      .where('vms.host_id', '=', hostId)
      .where('vms.destroyed_at', 'is', null)
      .orderBy('vms.id')
      .execute();
  }

  /** What a cold migration needs to know of a live VM. */
  findVm(id: number): Promise<{ id: number; name: string; status: string; host_id: number | null; ram: number; cpu: number; locked: number } | undefined> {
    return this.db.selectFrom('vms').select(['id', 'name', 'status', 'host_id', 'ram', 'cpu', 'locked']).where('id', '=', id).where('destroyed_at', 'is', null).executeTakeFirst();
  }

  /** Points a stopped VM at its new host; false when it is no longer stopped on `from` (nothing changed then). */
  async moveVm(id: number, from: number, to: number, now: string): Promise<boolean> {
    const rows = await this.db
      .updateTable('vms')
      .set({ host_id: to, updated_at: now })
      .where('id', '=', id)
      .where('host_id', '=', from)
      .where('status', '=', 'stopped')
      .where('destroyed_at', 'is', null)
      .returning('id')
      .execute();
    return rows.length === 1;
  }

  /** Hosts any VM was ever placed on (destroyed ones included: their leftovers may remain). */
  async usedHostIds(): Promise<Set<number>> {
    const rows = await this.db.selectFrom('vms').select('host_id').distinct().where('host_id', 'is not', null).execute();
    return new Set(rows.map((r) => Number(r.host_id)));
  }
}
