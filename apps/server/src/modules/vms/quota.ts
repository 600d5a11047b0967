import type { QuotaOverrides } from '@twarga/contract';
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
