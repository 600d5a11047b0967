import type { SocRule } from '@twarga/contract';
import type { Group } from './rule-fields.js';
import type { Occurrence } from './windows.js';

/**
 * Events whose user is the account being attacked (a sign-in to it), not the actor. For other
 * events (a 403, a VM action) the user is who did it: an incident about them is for admins,
 * unless the rule groups by user (then it is about that user's own account or VMs).
 */
const TARGET_USER_CODES = new Set(['login.failed', 'login.blocked', 'account.locked', 'login.denied', 'login.succeeded', 'password.change_failed']);

/** The one value all have, or null when they differ or none has one. */
function common<T>(values: (T | null)[]): T | null {
  const first = values[0] ?? null;
  return first !== null && values.every((v) => v === first) ? first : null;
}

export interface Target {
  sourceIp: string | null;
  vmId: number | null;
  /** Who sees the incident besides admins: the VM's owner, or the targeted account. */
  userId: number | null;
  vmName?: string;
  username?: string | null;
}

/** Where an incident happens: its one address and its one VM (null when the events differ). No database. */
export function placeOf(group: Group, occs: Occurrence[]): { sourceIp: string | null; vmId: number | null } {
  const g = group.values;
  const sourceIp = typeof g.source_ip === 'string' ? g.source_ip : common(occs.map((o) => o.sourceIp));
  const vmId = typeof g.vm_id === 'number' ? g.vm_id : common(occs.map((o) => o.vmId));
  return { sourceIp, vmId };
}

/** What an incident is about: its address, its VM and whose it is. */
export async function targetOf(
  rule: SocRule,
  group: Group,
  occs: Occurrence[],
  vms: { find(id: number): Promise<{ user_id: number; name: string } | undefined> },
): Promise<Target> {
  const g = group.values;
  const { sourceIp, vmId } = placeOf(group, occs);
  const vm = vmId === null ? undefined : await vms.find(vmId);
  let userId: number | null = null;
  if (vm) userId = vm.user_id;
  else if (rule.group_by.includes('user_id')) userId = typeof g.user_id === 'number' ? g.user_id : null;
  else if (occs.every((o) => TARGET_USER_CODES.has(o.code))) userId = common(occs.map((o) => o.userId));
  const username = userId === null ? null : (occs.find((o) => o.userId === userId)?.username ?? null);
  return { sourceIp, vmId, userId, ...(vm ? { vmName: vm.name } : {}), username };
}

export function titleOf(rule: SocRule, t: Target): string {
  const parts = [rule.title];
  if (t.sourceIp) parts.push(`from ${t.sourceIp}`);
  if (t.vmId !== null) parts.push(`on VM "${t.vmName ?? `#${t.vmId}`}"`);
  else if (t.username) parts.push(`(account ${t.username})`);
  return parts.join(' ').slice(0, 300);
}
