import type {
  AdjustCreditsRequest,
  AdjustCreditsResponse,
  AdminUser,
  AdminUserDetail,
  AdminUsersQuery,
  BillingSummary,
  LedgerEntry,
  LedgerQuery,
  UpdateQuotaRequest,
  UpdateUserRequest,
  UserQuota,
} from '@twarga/contract';
import { badRequest, conflict, notFound } from '../../http/errors.js';
import type { Clock } from '../../lib/time.js';
import type { Identity, RequestContext } from '../auth/identity.js';
import type { SessionsRepository } from '../auth/sessions.repository.js';
import type { LedgerService } from '../billing/ledger.service.js';
import type { EventLog } from '../events/event-log.js';
import type { UserRow, UsersRepository } from '../users/users.repository.js';
import type { Limits } from '../vms/quota.js';
import type { VmsRepository } from '../vms/vms.repository.js';
import { quotaOf, toAdminUser, toAdminVm, userTarget, type Note, type SnapshotUsage } from './admin-views.js';

/** How many of the newest rows the user detail shows (the rest: the paged ledger, the events page). */
export const DETAIL_VMS = 100;
export const DETAIL_LEDGER = 20;
export const DETAIL_EVENTS = 20;

export interface AdminServiceDeps {
  ledger: LedgerService;
  users: UsersRepository;
  sessions: SessionsRepository;
  vmsRepo: VmsRepository;
  events: EventLog;
  clock: Clock;
  sshHost: string;
  /** The server-wide VM limits (VmsService.defaultLimits). */
  defaultLimits: () => Limits;
  /** The server-wide snapshot limit and how many snapshots a user keeps (the snapshots module counts them). */
  snapshotUsage: (userId: number) => Promise<SnapshotUsage>;
  /** Billing's view of a user (balance, burn, runway, state): billing owns how it is computed. */
  billingSummary: (userId: number) => Promise<BillingSummary>;
  /** A filtered page of the user's ledger, newest first; next: the before_id of the next page. */
  ledgerPage: (userId: number, query: LedgerQuery) => Promise<{ entries: LedgerEntry[]; next?: number }>;
}

/** The admin's view of users: the list, one user's detail, and edits to one account. */
export class AdminService {
  constructor(private readonly deps: AdminServiceDeps) {}

  /** Every user (or one), deleted ones included, unpaged: for internal callers and tests. */
  async listUsers(onlyId?: number): Promise<AdminUser[]> {
    return (await this.deps.users.listWithVmCounts(onlyId)).map(toAdminUser);
  }

  /** The admin list: search, status filter (deleted hidden unless asked), sort and one page. */
  async list(q: AdminUsersQuery): Promise<{ users: AdminUser[]; total: number }> {
    const { rows, total } = await this.deps.users.listForAdmin({
      q: q.q?.trim() || undefined,
      status: q.status as 'active' | 'inactive' | 'admin' | 'deleted' | 'all' | undefined,
      sort: q.sort ?? 'id',
      order: q.order ?? 'asc',
      limit: q.limit ?? 100,
      offset: q.offset ?? 0,
    });
    return { users: rows.map(toAdminUser), total };
  }

  async detail(id: number, note: Note): Promise<AdminUserDetail> {
    const { vmsRepo, events, clock, sshHost } = this.deps;
    const row = await this.find(id);
    note({ target: userTarget(row) });
    const now = clock.now();
    const [user, vms, ledger, recent, live, billing] = await Promise.all([
      this.listUsers(id),
      vmsRepo.listAllOfUser(id, DETAIL_VMS),
      this.deps.ledgerPage(id, { limit: DETAIL_LEDGER }).then((p) => p.entries),
      events.list({ userId: id, limit: DETAIL_EVENTS }),
      vmsRepo.listLive(id),
      this.deps.billingSummary(id),
    ]);
    return { user: user[0]!, vms: vms.map((v) => toAdminVm(v, sshHost, now)), ledger, events: recent, quota: quotaOf(row, this.deps.defaultLimits(), live, await this.deps.snapshotUsage(id)), billing };
  }

  /** The same filters and cursor as the user's own ledger (billing's LedgerQuery). */
  async ledgerOf(id: number, query: LedgerQuery, note: Note): Promise<{ entries: LedgerEntry[]; next?: number }> {
    const row = await this.find(id);
    note({ target: userTarget(row) });
    return this.deps.ledgerPage(id, query);
  }

  async quota(id: number): Promise<UserQuota> {
    const row = await this.find(id);
    return quotaOf(row, this.deps.defaultLimits(), await this.deps.vmsRepo.listLive(id), await this.deps.snapshotUsage(id));
  }

  /**
   * Sets or clears (null) quota overrides. Admission reads them at the next launch; VMs that
   * already run are left alone even when they now exceed a lowered limit.
   */
  async setQuota(admin: Identity, id: number, patch: UpdateQuotaRequest, ctx: RequestContext, note: Note): Promise<UserQuota> {
    const { users, events, clock } = this.deps;
    const target = await this.find(id);
    const before = await this.quota(id);
    note({ target: userTarget(target), before: before.overrides });
    if (target.deleted_at) throw conflict('This account was deleted');
    await users.setQuota(id, patch, clock.now().toISOString());
    const after = await this.quota(id);
    note({ after: after.overrides });
    await events.record({ type: 'admin', severity: 'warning', action: 'user.quota_changed', message: `${admin.user.username} changed ${target.username}'s quota: ${JSON.stringify(patch)}`, userId: admin.user.id, username: admin.user.username, sourceIp: ctx.ip, details: { target_user_id: id, before: before.overrides, after: after.overrides } });
    return after;
  }

  async updateUser(admin: Identity, id: number, patch: UpdateUserRequest, ctx: RequestContext, note: Note): Promise<AdminUser> {
    const { users, sessions, events, clock } = this.deps;
    const target = await this.find(id);
    const before = { is_active: target.is_active === 1, is_admin: target.is_admin === 1 };
    note({ target: userTarget(target), before });
    if (id === admin.user.id && (patch.is_active === false || patch.is_admin === false)) {
      throw badRequest('You cannot disable or demote your own account', [{ field: patch.is_active === false ? 'is_active' : 'is_admin', message: 'cannot change for yourself' }]);
    }
    // A deleted account stays closed: reactivating it would bring back a user whose VMs are gone and whose tokens were revoked.
    if (target.deleted_at) throw conflict('This account was deleted');
    const now = clock.now().toISOString();
    await users.update(
      id,
      {
        ...(patch.is_active !== undefined && { is_active: patch.is_active ? 1 : 0 }),
        ...(patch.is_admin !== undefined && { is_admin: patch.is_admin ? 1 : 0 }),
      },
      now,
    );
    if (patch.is_active === false) await sessions.revokeAllForUser(id, now);
    await events.record({ type: 'admin', severity: 'warning', action: 'user.updated', message: `${admin.user.username} changed ${target.username}: ${JSON.stringify(patch)}`, userId: admin.user.id, username: admin.user.username, sourceIp: ctx.ip, details: { target_user_id: id, ...patch } });
    const after = (await this.listUsers(id))[0]!;
    note({ after: { is_active: after.is_active, is_admin: after.is_admin } });
    return after;
  }

  async adjustCredits(admin: Identity, id: number, input: AdjustCreditsRequest, ctx: RequestContext, note: Note): Promise<AdjustCreditsResponse> {
    const { ledger, events, clock } = this.deps;
    const target = await this.find(id);
    note({ target: userTarget(target), before: { balance: Number(target.credits) } });
    if (target.deleted_at) throw conflict('This account was deleted');
    const balance = await ledger.apply({ userId: id, amount: input.amount, reason: input.reason, actorId: admin.user.id, now: clock.now().toISOString() });
    // The balance the ledger computed: another change at the same moment shows up as before + amount ≠ after.
    note({ before: { balance: balance - input.amount }, after: { balance } });
    await events.record({ type: 'admin', action: 'credits.adjusted', message: `${admin.user.username} adjusted ${target.username}'s credits by ${input.amount}: ${input.reason}`, userId: admin.user.id, username: admin.user.username, sourceIp: ctx.ip, details: { target_user_id: id, amount: input.amount, new_balance: balance } });
    return { user_id: id, new_balance: balance, adjustment: input.amount };
  }

  private async find(id: number): Promise<UserRow> {
    const row = await this.deps.users.findById(id);
    if (!row) throw notFound('User');
    return row;
  }
}
