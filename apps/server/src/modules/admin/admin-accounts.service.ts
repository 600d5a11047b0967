import type { BulkUsersRequest, BulkUsersResponse, DeletedUser } from '@twarga/contract';
import { AppError, badRequest, conflict, notFound } from '../../http/errors.js';
import type { Clock } from '../../lib/time.js';
import type { Identity, RequestContext } from '../auth/identity.js';
import type { SessionsRepository } from '../auth/sessions.repository.js';
import type { LedgerService } from '../billing/ledger.service.js';
import type { EventLog } from '../events/event-log.js';
import type { TokensRepository } from '../tokens/tokens.repository.js';
import type { UsersRepository } from '../users/users.repository.js';
import type { VmsRepository } from '../vms/vms.repository.js';
import type { VmsService } from '../vms/vms.service.js';
import { toAdminUser, userTarget, type Note } from './admin-views.js';

/** Closing accounts and changing many at once: the admin operations that touch more than one row. */
export class AdminAccountsService {
  constructor(
    private readonly d: {
      users: UsersRepository;
      sessions: SessionsRepository;
      tokens: TokensRepository;
      ledger: LedgerService;
      vms: VmsService;
      vmsRepo: VmsRepository;
      events: EventLog;
      clock: Clock;
    },
  ) {}

  /**
   * Deletes an account: its VMs are destroyed, it can no longer sign in, and its history (ledger,
   * events, VM rows) stays. The account is deactivated and its sessions and tokens revoked
   * before the VMs are destroyed, so it cannot launch a VM between the two. A VM another action
   * holds cannot be destroyed now: then the answer is 409 and the account stays (deactivated,
   * not deleted); asking again finishes it, skipping VMs already being destroyed.
   */
  async deleteUser(admin: Identity, id: number, ctx: RequestContext, note: Note): Promise<DeletedUser> {
    const { users, sessions, tokens, vms, vmsRepo, events, clock } = this.d;
    const target = await users.findById(id);
    if (!target) throw notFound('User');
    note({ target: userTarget(target), before: { is_active: target.is_active === 1, is_admin: target.is_admin === 1, deleted_at: target.deleted_at, credits: Number(target.credits) } });
    if (target.deleted_at) throw conflict('This account was already deleted');
    if (id === admin.user.id) throw conflict('You cannot delete your own account');
    if (target.is_admin === 1 && (await users.countOtherActiveAdmins(id)) === 0) throw conflict('This is the last active administrator: promote another user first');

    const now = clock.now().toISOString();
    if (target.is_active === 1) await users.update(id, { is_active: 0 }, now);
    await sessions.revokeAllForUser(id, now);
    await tokens.revokeAllForUser(id, now);

    const by = { userId: admin.user.id, username: admin.user.username, sourceIp: ctx.ip };
    const destroying: DeletedUser['destroying'] = [];
    const busy: { field: string; message: string }[] = [];
    for (const vm of await vmsRepo.listLive(id)) {
      if (vm.status === 'destroying' && vm.locked === 1) continue; // already going away
      try {
        const action = await vms.enforce(vm.id, 'destroy', false, { ...by, message: `${admin.user.username} deleted ${target.username}'s account: destroying VM ${vm.name}` });
        destroying.push({ vm_id: vm.id, name: vm.name, action_id: action.id });
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        busy.push({ field: `vm:${vm.id}`, message: `${vm.name}: ${err.message}` });
      }
    }
    if (busy.length > 0) {
      note({ after: { is_active: false, deleted_at: null }, details: { destroying, busy } });
      throw conflict(`${busy.length} VM(s) of ${target.username} could not be destroyed now (another action holds them): the account is deactivated but not deleted; try again in a moment`, busy);
    }

    const deletedAt = clock.now().toISOString();
    await users.markDeleted(id, deletedAt);
    await events.record({ type: 'admin', severity: 'warning', action: 'user.deleted', message: `${admin.user.username} deleted the account ${target.username} (${destroying.length} VM(s) being destroyed)`, userId: admin.user.id, username: admin.user.username, sourceIp: ctx.ip, details: { target_user_id: id, target_username: target.username, destroying } });
    note({ after: { is_active: false, deleted_at: deletedAt }, details: { destroying } });
    return { user_id: id, deleted_at: deletedAt, destroying };
  }

  /**
   * Activates, deactivates or credits many users in one transaction: an unknown or deleted id,
   * the caller deactivating themselves, or a credit that would take a balance below zero
   * changes nothing at all. Sessions of deactivated users are revoked after the commit (they
   * cannot authenticate from the commit on anyway: authentication checks is_active).
   */
  async bulk(admin: Identity, req: BulkUsersRequest, ctx: RequestContext, note: Note): Promise<BulkUsersResponse> {
    const { users, sessions, ledger, events, clock } = this.d;
    // The ids are in the entry's request details; a target id holds one value, so a bulk entry's is "bulk".
    note({ action: `users.bulk_${req.action}`, target: { type: 'users', id: 'bulk', label: `${req.ids.length} user(s): ${req.ids.join(', ')}` } });
    if (req.action === 'credit') {
      const missing = [...(req.amount === undefined ? [{ field: 'amount', message: 'is required for credit' }] : []), ...(req.reason === undefined ? [{ field: 'reason', message: 'is required for credit' }] : [])];
      if (missing.length) throw badRequest('A credit needs an amount and a reason', missing);
    } else if (req.amount !== undefined) {
      throw badRequest(`amount is only for credit, not ${req.action}`, [{ field: 'amount', message: `is not allowed for ${req.action}` }]);
    }
    if (req.action === 'deactivate' && req.ids.includes(admin.user.id)) {
      throw badRequest('You cannot deactivate your own account', [{ field: 'ids', message: `contains your own id ${admin.user.id}` }]);
    }

    const now = clock.now().toISOString();
    const before = await users.transaction(async (trx) => {
      const rows = await users.findByIds(req.ids, trx);
      const found = new Set(rows.map((r) => r.id));
      const unknown = req.ids.filter((id) => !found.has(id));
      if (unknown.length) throw new AppError(404, 'not_found', `No such user: ${unknown.join(', ')}; nothing was changed`, unknown.map((id) => ({ field: 'ids', message: `${id} does not exist` })));
      const deleted = rows.filter((r) => r.deleted_at);
      if (deleted.length) throw conflict(`Deleted accounts cannot be changed: ${deleted.map((r) => r.username).join(', ')}; nothing was changed`, deleted.map((r) => ({ field: 'ids', message: `${r.id} (${r.username}) was deleted` })));
      if (req.action === 'credit') {
        for (const id of req.ids) {
          // A debit that would take a balance below zero throws (409) and rolls every row back.
          await ledger.apply({ userId: id, amount: req.amount!, reason: req.reason!, actorId: admin.user.id, now }, { trx });
        }
      } else {
        await users.setActiveMany(req.ids, req.action === 'activate', now, trx);
      }
      return rows;
    });
    users.notifyChanged(req.ids);
    if (req.action === 'deactivate') for (const id of req.ids) await sessions.revokeAllForUser(id, now);

    const after = (await users.listWithVmCounts(req.ids)).map(toAdminUser);
    const summary = req.action === 'credit' ? `credited ${req.amount} to` : `${req.action}d`;
    await events.record({ type: 'admin', severity: 'warning', action: 'users.bulk_updated', message: `${admin.user.username} ${summary} ${req.ids.length} user(s)${req.reason ? `: ${req.reason}` : ''}`, userId: admin.user.id, username: admin.user.username, sourceIp: ctx.ip, details: { action: req.action, ids: req.ids, amount: req.amount, reason: req.reason } });
    note({
      before: before.sort((a, b) => a.id - b.id).map((r) => ({ id: r.id, is_active: r.is_active === 1, balance: Number(r.credits) })),
      after: after.map((u) => ({ id: u.id, is_active: u.is_active, balance: u.credits })),
    });
    return { action: req.action, users: after };
  }
}
