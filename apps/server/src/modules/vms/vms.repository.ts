import { sql, type Selectable, type Updateable } from 'kysely';
import type { Db } from '../../db/database.js';
import { anyContains } from '../../lib/sql-search.js';
import type { VmsTable } from '../../db/schema.js';

export type VmRow = Selectable<VmsTable>;
export type NewVmRow = Omit<VmRow, 'id'>;
/** A VM with its owner's and host's names, for the admin panel. */
export type AdminVmRow = VmRow & { owner_username: string; host_name: string | null };

/** The admin's VM filters (live VMs of every user). */
export interface AdminVmFilter {
  ownerId?: number;
  hostId?: number;
  status?: string;
  /** The health as read (vm-view.ts currentHealth): only running VMs have one. */
  health?: 'booting' | 'responsive' | 'unresponsive';
  q?: string;
  limit: number;
  offset: number;
}

export class VmsRepository {
  constructor(private readonly db: Db) {}

  async insert(row: NewVmRow, db: Db = this.db): Promise<VmRow> {
    return db.insertInto('vms').values(row).returningAll().executeTakeFirstOrThrow();
  }

  find(id: number): Promise<VmRow | undefined> {
    return this.db.selectFrom('vms').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Live VMs (not destroyed): one user's, or everyone's; only those with the tag when one is given. */
  listLive(userId?: number, filter: { tag?: string } = {}): Promise<VmRow[]> {
    let q = this.db.selectFrom('vms').selectAll().where('destroyed_at', 'is', null).orderBy('id');
    if (userId !== undefined) q = q.where('user_id', '=', userId);
    const tag = filter.tag;
    if (tag !== undefined) q = q.where('id', 'in', (eb) => eb.selectFrom('vm_tags').select('vm_id').where('tag', '=', tag));
    return q.execute();
  }

  /** The tags of each of these VMs, sorted (a VM without tags maps to []). */
  async tagsOf(vmIds: readonly number[]): Promise<Map<number, string[]>> {
    const tags = new Map<number, string[]>(vmIds.map((id) => [id, []]));
    if (vmIds.length === 0) return tags;
    // Chunked: a list of hundreds of VMs stays under any driver's bound-parameter limit.
    for (let i = 0; i < vmIds.length; i += 500) {
      const rows = await this.db.selectFrom('vm_tags').select(['vm_id', 'tag']).where('vm_id', 'in', vmIds.slice(i, i + 500)).orderBy('tag').execute();
      for (const r of rows) tags.get(r.vm_id)?.push(r.tag);
    }
    return tags;
  }

  /** Gives a new VM its tags (in its insert's transaction). */
  async addTags(vmId: number, tags: readonly string[], db: Db = this.db): Promise<void> {
    const unique = [...new Set(tags)];
    if (unique.length) await db.insertInto('vm_tags').values(unique.map((tag) => ({ vm_id: vmId, tag }))).execute();
  }

  /**
   * A page of live VMs of every user, with owner and host names, and how many match. The health
   * filter repeats currentHealth() in SQL: a health stored for an earlier boot reads as booting.
   */
  async listForAdmin(f: AdminVmFilter): Promise<{ rows: AdminVmRow[]; total: number }> {
    let base = this.db.selectFrom('vms').innerJoin('users', 'users.id', 'vms.user_id').leftJoin('compute_hosts', 'compute_hosts.id', 'vms.host_id').where('vms.destroyed_at', 'is', null);
    if (f.ownerId !== undefined) base = base.where('vms.user_id', '=', f.ownerId);
    if (f.hostId !== undefined) base = base.where('vms.host_id', '=', f.hostId);
    if (f.status !== undefined) base = base.where('vms.status', '=', f.status);
    if (f.health !== undefined) {
      const fresh = sql<boolean>`(vms.health is not null and (vms.health_boot = vms.booted_at or (vms.health_boot is null and vms.booted_at is null)))`;
      base = base.where('vms.status', '=', 'running');
      base = f.health === 'booting'
        ? base.where(sql<boolean>`not (${fresh} and vms.health <> 'booting')`)
        : base.where(sql<boolean>`${fresh}`).where('vms.health', '=', f.health);
    }
    if (f.q) {
      base = base.where(anyContains(['vms.name', 'users.username'], f.q));
    }
    const total = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const rows = await base
      .selectAll('vms')
      .select(['users.username as owner_username', 'compute_hosts.name as host_name'])
      .orderBy('vms.id')
      .limit(f.limit)
      .offset(f.offset)
      .execute();
    return { rows, total: Number(total.n) };
  }

  /** Every VM of one user, destroyed ones too (their history), newest first, with owner and host names. */
  listAllOfUser(userId: number, limit: number): Promise<AdminVmRow[]> {
    return this.db
      .selectFrom('vms')
      .innerJoin('users', 'users.id', 'vms.user_id')
      .leftJoin('compute_hosts', 'compute_hosts.id', 'vms.host_id')
      .selectAll('vms')
      .select(['users.username as owner_username', 'compute_hosts.name as host_name'])
      .where('vms.user_id', '=', userId)
      .orderBy('vms.id', 'desc')
      .limit(limit)
      .execute();
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
