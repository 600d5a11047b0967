import type { QuotaOverrides } from '@twarga/contract';
import { quotaExceeded } from '../../http/errors.js';
import type { UserRow } from '../users/users.repository.js';

/** The limits one user's live VMs must fit in. */
export interface Limits {
  maxVms: number;
  maxRamMb: number;
  maxVcpus: number;
  maxDiskGb: number;
}

/** What an admin overrode for this user (null: the server-wide limit). */
export function overridesOf(user: UserRow): QuotaOverrides {
  return { max_vms: user.quota_max_vms, max_ram_mb: user.quota_max_ram_mb, max_vcpus: user.quota_max_vcpus, max_disk_gb: user.quota_max_disk_gb };
}

/** A user's overrides where set, else the server-wide limits. */
export function effectiveLimits(user: UserRow, defaults: Limits): Limits {
  return {
    maxVms: user.quota_max_vms ?? defaults.maxVms,
    maxRamMb: user.quota_max_ram_mb ?? defaults.maxRamMb,
    maxVcpus: user.quota_max_vcpus ?? defaults.maxVcpus,
    maxDiskGb: user.quota_max_disk_gb ?? defaults.maxDiskGb,
  };
}

/** What a user's live VMs (and resizes under way) use: count, MiB of RAM, vCPUs, GiB of disk. */
export interface Usage {
  count: number;
  ram: number;
  cpu: number;
  disk: number;
}

/** Throws 403 quota_exceeded unless `count` more VMs of this shape fit in the limits (a launch: 1; DO's `names`: all at once). */
export function assertFits(limits: Limits, usage: Usage, spec: { ram: number; cpu: number; disk: number }, count: number): void {
  if (usage.count + count > limits.maxVms) throw quotaExceeded(`at most ${limits.maxVms} VMs per user`);
  if (usage.ram + count * spec.ram > limits.maxRamMb) throw quotaExceeded(`at most ${limits.maxRamMb} MB of RAM in total (${usage.ram} MB in use)`);
  if (usage.cpu + count * spec.cpu > limits.maxVcpus) throw quotaExceeded(`at most ${limits.maxVcpus} vCPUs in total (${usage.cpu} in use)`);
  if (usage.disk + count * spec.disk > limits.maxDiskGb) throw quotaExceeded(`at most ${limits.maxDiskGb} GB of disk in total (${usage.disk} GB in use)`);
}
