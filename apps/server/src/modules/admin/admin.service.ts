import type { AdjustCreditsRequest, AdjustCreditsResponse, AdminUser, UpdateUserRequest } from '@twarga/contract';
import { badRequest, notFound } from '../../http/errors.js';
import type { Clock } from '../../lib/time.js';
import type { Identity, RequestContext } from '../auth/identity.js';
import type { SessionsRepository } from '../auth/sessions.repository.js';
import { billingStateOf } from '../billing/billing-state.js';
import type { LedgerService } from '../billing/ledger.service.js';
import type { EventLog } from '../events/event-log.js';
import { toUser, type UsersRepository } from '../users/users.repository.js';

export class AdminService {
  constructor(
    private readonly deps: { ledger: LedgerService; users: UsersRepository; sessions: SessionsRepository; events: EventLog; clock: Clock },
  ) {}

  async listUsers(onlyId?: number): Promise<AdminUser[]> {
    const rows = await this.deps.users.listWithVmCounts(onlyId);
    return rows.map((r) => ({ ...toUser(r), vm_count: r.vm_count, last_login_at: r.last_login_at, deleted_at: r.deleted_at, billing_state: billingStateOf(r) }));
  }

  async updateUser(admin: Identity, id: number, patch: UpdateUserRequest, ctx: RequestContext): Promise<AdminUser> {
    const { users, sessions, events, clock } = this.deps;
    const target = await users.findById(id);
    if (!target) throw notFound('User');
    if (id === admin.user.id && (patch.is_active === false || patch.is_admin === false)) {
      throw badRequest('You cannot disable or demote your own account', [{ field: patch.is_active === false ? 'is_active' : 'is_admin', message: 'cannot change for yourself' }]);
    }
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
    return (await this.listUsers(id))[0]!;
  }

  async adjustCredits(admin: Identity, id: number, input: AdjustCreditsRequest, ctx: RequestContext): Promise<AdjustCreditsResponse> {
    const { ledger, users, events, clock } = this.deps;
    const target = await users.findById(id);
    if (!target) throw notFound('User');
    const balance = await ledger.apply({ userId: id, amount: input.amount, reason: input.reason, actorId: admin.user.id, now: clock.now().toISOString() });
    await events.record({ type: 'admin', action: 'credits.adjusted', message: `${admin.user.username} adjusted ${target.username}'s credits by ${input.amount}: ${input.reason}`, userId: admin.user.id, username: admin.user.username, sourceIp: ctx.ip, details: { target_user_id: id, amount: input.amount, new_balance: balance } });
    return { user_id: id, new_balance: balance, adjustment: input.amount };
  }
}
