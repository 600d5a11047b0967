import { sql, type Selectable } from 'kysely';
import type { AdminUserSorts, User, UserQuotaOverrides } from '@twarga/contract';
import type { Db } from '../../db/database.js';
import { anyContains } from '../../lib/sql-search.js';
import type { UserChanges } from '../../lib/user-changes.js';
import type { UsersTable } from '../../db/schema.js';

export type UserRow = Selectable<UsersTable>;
export type UserWithVmCount = UserRow & { vm_count: number };

/** The admin list's filters; status undefined hides deleted accounts. */
export interface AdminUserFilter {
  q?: string;
  status?: 'active' | 'inactive' | 'admin' | 'deleted' | 'all';
  sort: (typeof AdminUserSorts)[number];
  order: 'asc' | 'desc';
  limit: number;
  offset: number;
}

export function toUser(row: UserRow): User {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    is_admin: row.is_admin === 1,
    is_active: row.is_active === 1,
    credits: Number(row.credits),
    created_at: row.created_at,
  };
}

export class UsersRepository {
  constructor(
    private readonly db: Db,
    private readonly changes: UserChanges,
  ) {}

  findById(id: number, db: Db = this.db): Promise<UserRow | undefined> {
    return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Login accepts the username or the e-mail address. */
  findByLogin(login: string): Promise<UserRow | undefined> {
    const value = login.trim().toLowerCase();
    return this.db
      .selectFrom('users')
      .selectAll()
      .where((eb) => eb.or([eb('username', '=', value), eb('email', '=', value)]))
      .executeTakeFirst();
  }

  async findConflicts(username: string, email: string): Promise<{ username: boolean; email: boolean }> {
    const rows = await this.db
      .selectFrom('users')
      .select(['username', 'email'])
      .where((eb) => eb.or([eb('username', '=', username), eb('email', '=', email)]))
      .execute();
    return { username: rows.some((r) => r.username === username), email: rows.some((r) => r.email === email) };
  }

  async insert(
    db: Db,
    u: { username: string; email: string; hashedPassword: string; isAdmin: boolean; now: string },
  ): Promise<number> {
    const row = await db
      .insertInto('users')
      .values({
        username: u.username,
        email: u.email,
        hashed_password: u.hashedPassword,
        is_admin: u.isAdmin ? 1 : 0,
        is_active: 1,
        credits: 0,
        created_at: u.now,
        updated_at: u.now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  async countAdmins(): Promise<number> {
    const row = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('is_admin', '=', 1)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async update(
    id: number,
    patch: Partial<Pick<UserRow, 'hashed_password' | 'is_active' | 'is_admin'>>,
    now: string,
  ): Promise<void> {
    await this.db.updateTable('users').set({ ...patch, updated_at: now }).where('id', '=', id).execute();
    this.changes.notify(id);
  }

  /** The admin list's "last login"; not a change anyone's access depends on, so no notify. */
  async noteLogin(id: number, now: string): Promise<void> {
    await this.db.updateTable('users').set({ last_login_at: now }).where('id', '=', id).execute();
  }

  /**
   * One page of the admin's user list and how many users match. The page's ids are picked from
   * the users table alone (the VM counts are joined in only to sort by them), then only those
   * rows are read in full with their counts: sorting 10,000 narrow rows, not 10,000 joined ones.
   */
  async listForAdmin(f: AdminUserFilter): Promise<{ rows: UserWithVmCount[]; total: number }> {
    let base = this.db.selectFrom('users');
    if (f.q) base = base.where(anyContains(['users.username', 'users.email'], f.q));
    if (f.status === undefined) base = base.where('users.deleted_at', 'is', null);
    else if (f.status === 'deleted') base = base.where('users.deleted_at', 'is not', null);
    else if (f.status !== 'all') {
      base = base.where('users.deleted_at', 'is', null);
      if (f.status === 'active') base = base.where('users.is_active', '=', 1);
      if (f.status === 'inactive') base = base.where('users.is_active', '=', 0);
      if (f.status === 'admin') base = base.where('users.is_admin', '=', 1);
    }
    const totalRow = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();

    let page = base.select('users.id');
    if (f.sort === 'vm_count') {
      const counts = this.db.selectFrom('vms').select(['user_id', (eb) => eb.fn.countAll<number>().as('c')]).where('destroyed_at', 'is', null).groupBy('user_id').as('vc');
      page = page.leftJoin(counts, 'vc.user_id', 'users.id').orderBy(sql`coalesce(vc.c, 0) ${sql.raw(f.order)}`);
    } else {
      // Accounts that never signed in sort last either way (SQLite and PostgreSQL disagree on NULLs).
      if (f.sort === 'last_login_at') page = page.orderBy(sql`users.last_login_at is null`);
      if (f.sort !== 'id') page = page.orderBy(`users.${f.sort}`, f.order);
    }
    // id breaks ties, so pages never overlap or skip a user.
    const ids = (await page.orderBy('users.id', f.order).limit(f.limit).offset(f.offset).execute()).map((r) => r.id);
    if (ids.length === 0) return { rows: [], total: Number(totalRow.n) };
    const byId = new Map((await this.listWithVmCounts(ids)).map((r) => [r.id, r]));
    return { rows: ids.map((id) => byId.get(id)!), total: Number(totalRow.n) };
  }

  /** Active admins that are not deleted, other than `exceptId`: who could still run the service. */
  async countOtherActiveAdmins(exceptId: number): Promise<number> {
    const row = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('is_admin', '=', 1)
      .where('is_active', '=', 1)
      .where('deleted_at', 'is', null)
      .where('id', '!=', exceptId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Closes the account: it can no longer sign in (is_active 0) and shows only as deleted. */
  async markDeleted(id: number, now: string): Promise<void> {
    await this.db.updateTable('users').set({ deleted_at: now, is_active: 0, updated_at: now }).where('id', '=', id).execute();
    this.changes.notify(id);
  }

  /** Sets the given quota overrides (null: back to the server-wide limit). */
  async setQuota(id: number, patch: Partial<UserQuotaOverrides>, now: string): Promise<void> {
    const set: Partial<Pick<UserRow, 'quota_max_vms' | 'quota_max_ram_mb' | 'quota_max_vcpus' | 'quota_max_disk_gb' | 'quota_max_snapshots'>> = {};
    if (patch.max_vms !== undefined) set.quota_max_vms = patch.max_vms;
    if (patch.max_ram_mb !== undefined) set.quota_max_ram_mb = patch.max_ram_mb;
    if (patch.max_vcpus !== undefined) set.quota_max_vcpus = patch.max_vcpus;
    if (patch.max_disk_gb !== undefined) set.quota_max_disk_gb = patch.max_disk_gb;
    if (patch.max_snapshots !== undefined) set.quota_max_snapshots = patch.max_snapshots;
    await this.db.updateTable('users').set({ ...set, updated_at: now }).where('id', '=', id).execute();
  }

  /** The users with these ids (any order); for an all-or-nothing bulk operation to check first. */
  findByIds(ids: number[], db: Db = this.db): Promise<UserRow[]> {
    return db.selectFrom('users').selectAll().where('id', 'in', ids).execute();
  }

  /**
   * Activates or deactivates many users, inside the caller's transaction. The caller calls
   * notifyChanged() after the commit: a request that re-reads the user must see the new state.
   */
  async setActiveMany(ids: number[], active: boolean, now: string, db: Db): Promise<void> {
    await db.updateTable('users').set({ is_active: active ? 1 : 0, updated_at: now }).where('id', 'in', ids).execute();
  }

  notifyChanged(ids: number[]): void {
    for (const id of ids) this.changes.notify(id);
  }

  /** Runs fn in one transaction (an all-or-nothing bulk operation). */
  transaction<T>(fn: (trx: Db) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(fn);
  }

  /** Every user (or just the given ones) with the number of their live VMs. */
  async listWithVmCounts(only?: number | number[]): Promise<UserWithVmCount[]> {
    let query = this.db
      .selectFrom('users')
      .selectAll('users')
      .select((eb) =>
        eb
          .selectFrom('vms')
          .select((e2) => e2.fn.countAll<number>().as('c'))
          .whereRef('vms.user_id', '=', 'users.id')
          .where('vms.destroyed_at', 'is', null)
          .as('vm_count'),
      )
      .orderBy('users.id');
    if (typeof only === 'number') query = query.where('users.id', '=', only);
    else if (only !== undefined) query = query.where('users.id', 'in', only);
    const rows = await query.execute();
    return rows.map((r) => ({ ...r, vm_count: Number(r.vm_count ?? 0) }));
  }
}
