import type { ComputeDriverName } from '@twarga/contract';
import { ApiError, allDetailsMapped, fieldErrors, isApiError } from '../../api';

export const HOST_LABELS = { name: 'Name', driver: 'Driver', uri: 'URI', pool: 'Storage pool', ram_mb: 'RAM', vcpus: 'vCPUs' };

export const DRIVER_NAMES: Record<ComputeDriverName, string> = { qemu: 'QEMU', libvirt: 'libvirt', vagrant: 'Vagrant' };

export const URI_EXAMPLES = ['qemu:///system', 'qemu+ssh://user@host/system'] as const;

const POOL_RULE = 'must be lowercase letters, digits, - and _ (at most 32), starting with a letter';
/** The server's pool rule, checked here too so a typo is shown before the request. */
export function checkPool(pool: string): string | undefined {
  return pool === '' || /^[a-z][a-z0-9_-]{0,31}$/.test(pool) ? undefined : `Storage pool ${POOL_RULE}.`;
}
export const POOL_HINT = "The libvirt storage pool for this host's disks, seeds and kernels (created if missing). Empty: the server's pool.";

/** The schema's regex messages ("must match pattern "^qemu(…"") said the way a person would. */
const FRIENDLY: Record<string, [RegExp, string][]> = {
  name: [[/must match pattern/, 'must be lowercase letters, digits and hyphens (at most 32), starting and ending with a letter or digit']],
  uri: [[/must match pattern/, `must look like ${URI_EXAMPLES[0]} or ${URI_EXAMPLES[1]}`]],
  driver: [[/^not available$/, 'is not available on this server']],
  pool: [[/must match pattern/, POOL_RULE]],
};

function friendlier(err: unknown): unknown {
  if (!isApiError(err) || !err.body.details) return err;
  const details = err.body.details.map((d) => {
    const hit = FRIENDLY[d.field]?.find(([re]) => re.test(d.message));
    return hit ? { ...d, message: hit[1] } : d;
  });
  return new ApiError(err.status, { ...err.body, details });
}

/** Field errors from a 400/409 body, and whether a general alert is still needed for the rest. */
export function serverErrors(err: unknown): { fields: Record<string, string>; showAlert: boolean } {
  const e = friendlier(err);
  return { fields: fieldErrors(e, HOST_LABELS), showAlert: err !== null && err !== undefined && !allDetailsMapped(e, HOST_LABELS) };
}

const RAM_MAX = 16 * 1024 * 1024;

/** Local checks of the numbers (the server checks again); the parsed values when they pass. */
export function checkCapacity(ram: string, vcpus: string) {
  const errors: Record<string, string> = {};
  const r = Number(ram);
  const c = Number(vcpus);
  if (!ram.trim() || !Number.isInteger(r)) errors.ram_mb = 'Enter the RAM in MB as a whole number, e.g. 16384.';
  else if (r < 128 || r > RAM_MAX) errors.ram_mb = `RAM must be between 128 and ${RAM_MAX.toLocaleString()} MB.`;
  if (!vcpus.trim() || !Number.isInteger(c)) errors.vcpus = 'Enter the number of vCPUs, e.g. 8.';
  else if (c < 1 || c > 4096) errors.vcpus = 'vCPUs must be between 1 and 4,096.';
  return { errors, ram_mb: r, vcpus: c };
}

export const RAM_HINT = 'What the scheduler may hand out to VMs on this host.';
export const VCPU_HINT = 'Set it above the core count to overcommit.';
