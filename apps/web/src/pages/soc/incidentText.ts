import type { BlockScope, IncidentStatus, User } from '@twarga/contract';

export const STATUS_LABEL: Record<IncidentStatus, string> = {
  open: 'Open',
  acknowledged: 'Acknowledged',
  resolved: 'Resolved',
  false_positive: 'False positive',
};

export const SCOPE_LABEL: Record<BlockScope, string> = {
  vm: "This VM's SSH",
  all_vms: "Every VM's SSH",
  control_plane: 'The control plane (web and API)',
};

/** Block durations offered (seconds; undefined: until lifted). */
export const DURATIONS: { label: string; seconds: number | undefined }[] = [
  { label: '10 minutes', seconds: 600 },
  { label: '1 hour', seconds: 3600 },
  { label: '1 day', seconds: 86400 },
  { label: '7 days', seconds: 7 * 86400 },
  { label: '30 days', seconds: 30 * 86400 },
  { label: 'Until lifted', seconds: undefined },
];

/** Owners act on what concerns them (their VM, their account); admins on everything. */
export const canActOn = (me: User, item: { user_id: number | null }) => me.is_admin || (item.user_id !== null && item.user_id === me.id);

/**
 * Scopes a person may block with: one VM's SSH for that VM's owner, the wider scopes (every VM,
 * the control plane) for admins only.
 */
export function allowedScopes(me: User, vmId: number | null, address?: string | null): BlockScope[] {
  const scopes: BlockScope[] = vmId !== null ? ['vm'] : [];
  if (me.is_admin) scopes.push('all_vms');
  // The server refuses a loopback address on the control plane (it would lock this host out).
  if (me.is_admin && !(address && isLoopback(address))) scopes.push('control_plane');
  return scopes;
}

/** 127.0.0.0/8, ::1 and their IPv4-mapped form: the host itself. */
export const isLoopback = (address: string) => /^(::ffff:)?127\.\d+\.\d+\.\d+$/i.test(address) || address === '::1';
