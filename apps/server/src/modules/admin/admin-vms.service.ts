import { EMERGENCY_STOP_ALL_PHRASE, type Action, type AdminVm, type AdminVmActionRequest, type AdminVmsQuery, type EmergencyStopResult } from '@twarga/contract';
import { badRequest, notFound } from '../../http/errors.js';
import type { Clock } from '../../lib/time.js';
import type { Identity, RequestContext } from '../auth/identity.js';
import type { EventLog } from '../events/event-log.js';
import type { UsersRepository } from '../users/users.repository.js';
import type { VmsRepository } from '../vms/vms.repository.js';
import type { VmsService } from '../vms/vms.service.js';
import { toAdminVm, userTarget, type Note } from './admin-views.js';

/** Every user's VMs for the admin: the list, stop or destroy of one, and emergency stops. */
export class AdminVmsService {
  constructor(
    private readonly d: { vms: VmsService; vmsRepo: VmsRepository; users: UsersRepository; events: EventLog; clock: Clock; sshHost: string },
  ) {}

  async list(q: AdminVmsQuery): Promise<{ vms: AdminVm[]; total: number }> {
    const { rows, total } = await this.d.vmsRepo.listForAdmin({
      ownerId: q.owner_id,
      hostId: q.host_id,
      status: q.status,
      health: q.health,
      q: q.q?.trim() || undefined,
      limit: q.limit ?? 200,
      offset: q.offset ?? 0,
    });
    const now = this.d.clock.now();
    return { vms: rows.map((r) => toAdminVm(r, this.d.sshHost, now)), total };
  }

  /** Stops or destroys anyone's VM, under the same per-VM lock and status rules as its owner's actions. */
  async act(admin: Identity, id: number, req: AdminVmActionRequest, ctx: RequestContext, note: Note): Promise<Action> {
    const row = await this.d.vmsRepo.find(id);
    if (!row) throw notFound('VM');
    const owner = await this.d.users.findById(row.user_id);
    note({ action: `vm.admin_${req.action}`, target: { type: 'vm', id, label: row.name }, before: { status: row.status }, details: { owner_id: row.user_id, owner: owner?.username ?? null } });
    const why = req.reason ? `: ${req.reason}` : '';
    const message = `${admin.user.username} (admin) asked to ${req.action} ${owner?.username ?? 'user ' + row.user_id}'s VM ${row.name}${req.force ? ' (forced)' : ''}${why}`;
    const action = await this.d.vms.enforce(id, req.action, req.force === true, { userId: admin.user.id, username: admin.user.username, sourceIp: ctx.ip, message });
    note({ after: { status: req.action === 'destroy' ? 'destroying' : 'stopping', action_id: action.id } });
    await this.d.events.record({ type: 'admin', severity: req.action === 'destroy' ? 'critical' : 'warning', action: 'admin.vm_action', message, userId: admin.user.id, username: admin.user.username, vmId: id, sourceIp: ctx.ip, details: { action: req.action, force: req.force === true, reason: req.reason ?? null, owner_id: row.user_id, action_id: action.id } });
    return action;
  }

  /** Force-stops every running VM of one user. */
  async emergencyStopUser(admin: Identity, userId: number, reason: string | undefined, ctx: RequestContext, note: Note): Promise<EmergencyStopResult> {
    const user = await this.d.users.findById(userId);
    if (!user) throw notFound('User');
    note({ action: 'user.emergency_stop', target: userTarget(user) });
    const message = `${admin.user.username} (admin) emergency-stopped every VM of ${user.username}${reason ? `: ${reason}` : ''}`;
    return this.stop(admin, [userId], message, reason, ctx, note);
  }

  /** Force-stops every running VM on the service, once the admin typed the confirmation phrase. */
  async emergencyStopAll(admin: Identity, confirm: string, reason: string | undefined, ctx: RequestContext, note: Note): Promise<EmergencyStopResult> {
    note({ action: 'emergency_stop_all', target: { type: 'service', id: 'all', label: 'every VM' } });
    if (confirm !== EMERGENCY_STOP_ALL_PHRASE) {
      throw badRequest(`Type "${EMERGENCY_STOP_ALL_PHRASE}" to confirm stopping every VM`, [{ field: 'confirm', message: `must be exactly "${EMERGENCY_STOP_ALL_PHRASE}"` }]);
    }
    const message = `${admin.user.username} (admin) emergency-stopped every VM on the service${reason ? `: ${reason}` : ''}`;
    return this.stop(admin, undefined, message, reason, ctx, note);
  }

  private async stop(admin: Identity, userIds: number[] | undefined, message: string, reason: string | undefined, ctx: RequestContext, note: Note): Promise<EmergencyStopResult> {
    const by = { userId: admin.user.id, username: admin.user.username, sourceIp: ctx.ip, message };
    const result = await this.d.vms.stopAll(userIds, by);
    note({ after: { stopping: result.requested.map((r) => r.vm_id), skipped: result.skipped.map((s) => s.vm_id) } });
    await this.d.events.record({
      type: 'admin',
      severity: 'critical',
      action: 'admin.emergency_stop',
      message: `${message} (${result.requested.length} stopping, ${result.skipped.length} skipped)`,
      userId: admin.user.id,
      username: admin.user.username,
      sourceIp: ctx.ip,
      details: { scope: userIds ? 'user' : 'all', target_user_id: userIds?.[0] ?? null, reason: reason ?? null, requested: result.requested, skipped: result.skipped },
    });
    return result;
  }
}
