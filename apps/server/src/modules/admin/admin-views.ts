import type { AdminUser, AdminVm, UserQuota } from '@twarga/contract';
import type { FastifyRequest } from 'fastify';
import { noteAudit, type AuditNote } from '../audit/audit-note.js';
import { billingStateOf } from '../billing/billing-state.js';
import { toUser, type UserRow, type UserWithVmCount } from '../users/users.repository.js';
import { effectiveLimits, overridesOf, type Limits } from '../vms/quota.js';
import { toVm } from '../vms/vm-view.js';
import type { AdminVmRow } from '../vms/vms.repository.js';

/** What a route hands a service so it can tell the audit log about the action as it goes (noteAudit). */
export type Note = (note: AuditNote) => void;

/** The audit note of this request, for a service to add to as the action goes (a refused action keeps what was noted). */
export const noteFor = (request: FastifyRequest): Note => (note) => noteAudit(request, note);

export function toAdminUser(r: UserWithVmCount): AdminUser {
  return { ...toUser(r), vm_count: r.vm_count, last_login_at: r.last_login_at, deleted_at: r.deleted_at, billing_state: billingStateOf(r) };
}

export function toAdminVm(r: AdminVmRow, sshHost: string, now: Date): AdminVm {
  return { ...toVm(r, sshHost, now), owner_username: r.owner_username, host_name: r.host_name };
}

/** What a user's snapshot quota stands at: the server-wide limit, and how many snapshots they keep. */
export interface SnapshotUsage {
  defaultLimit: number;
  used: number;
}

/** A user's overrides, the limits that apply, and what their live VMs (and kept snapshots) use of them. */
export function quotaOf(user: UserRow, defaults: Limits, live: { ram: number; cpu: number; disk: number }[], snapshots: SnapshotUsage): UserQuota {
  const e = effectiveLimits(user, defaults);
  return {
    overrides: { ...overridesOf(user), max_snapshots: user.quota_max_snapshots },
    effective: { max_vms: e.maxVms, max_ram_mb: e.maxRamMb, max_vcpus: e.maxVcpus, max_disk_gb: e.maxDiskGb, max_snapshots: user.quota_max_snapshots ?? snapshots.defaultLimit },
    usage: {
      vms: live.length,
      ram_mb: live.reduce((s, v) => s + v.ram, 0),
      vcpus: live.reduce((s, v) => s + v.cpu, 0),
      disk_gb: live.reduce((s, v) => s + v.disk, 0),
      snapshots: snapshots.used,
    },
  };
}

/** The target of an audit note about a user. */
export const userTarget = (u: Pick<UserRow, 'id' | 'username'>) => ({ type: 'user', id: u.id, label: u.username });
