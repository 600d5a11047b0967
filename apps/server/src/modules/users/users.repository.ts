import type { Selectable } from 'kysely';
import type { User } from '@twarga/contract';
import type { Db } from '../../db/database.js';
import type { UserChanges } from '../../lib/user-changes.js';
import type { UsersTable } from '../../db/schema.js';

export type UserRow = Selectable<UsersTable>;

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

  /** Every user (or just one) with the number of their live VMs. */
  async listWithVmCounts(onlyId?: number): Promise<(UserRow & { vm_count: number })[]> {
    let query = this.db
      .selectFrom('users')
      .selectAll('users')
      .select((eb) =>
        eb
          .selectFrom('vms')
          .select((e2) => e2.fn.countAll<number>().as('c'))
          .whereRef('vms.user_id', '=', 'users.id')
          .where('vms.status', '!=', 'destroyed')
          .as('vm_count'),
      )
      .orderBy('users.id');
    if (onlyId !== undefined) query = query.where('users.id', '=', onlyId);
    const rows = await query.execute();
    return rows.map((r) => ({ ...r, vm_count: Number(r.vm_count ?? 0) }));
  }
}
