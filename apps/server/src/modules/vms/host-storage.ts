import path from 'node:path';
import { instanceId } from '../../compute/driver.js';
import { instancePaths } from '../../compute/qemu/paths.js';
import { AppError } from '../../http/errors.js';
import { allocatedBytes, freeBytes, GiB, MiB } from '../../lib/disk-space.js';
import type { EventLog } from '../events/event-log.js';
import type { VmsRepository } from './vms.repository.js';

export interface HostStorageDeps {
  vms: VmsRepository;
  events: EventLog;
  /** The data dir: QEMU hosts keep their VM disks under <dataDir>/vms. */
  dataDir: string;
  /** Space the data dir's filesystem keeps free after every VM disk there could fill up. */
  minFreeDiskMb: number;
}

/**
 * A QEMU host's disks are thin qcow2 files under the data dir: small when created, but each
 * guest may fill its disk to its full virtual size, and a full filesystem pauses or corrupts
 * guests (and stops the database when it is SQLite). So new disk space (a new disk, or a disk's
 * growth in a resize) counts at its full size, and every live disk there counts for what it may
 * still grow: admitting only against today's free space accepted 600 GB of disks on 77 GB.
 * Refused with 507 insufficient_storage.
 */
export async function ensureHostStorage(d: HostStorageDeps, userId: number, growthGb: number, what: { event: string; user: string }): Promise<void> {
  const vmsDir = path.join(d.dataDir, 'vms');
  let promised = 0;
  for (const vm of await d.vms.listLive()) {
    if (vm.driver !== 'qemu') continue;
    promised += Math.max(0, vm.disk * GiB - (await allocatedBytes(instancePaths(vmsDir, instanceId(vm.id)).disk)));
  }
  const free = await freeBytes(d.dataDir);
  const needed = growthGb * GiB + promised + d.minFreeDiskMb * MiB;
  if (free >= needed) return;
  const gb = (bytes: number) => `${(bytes / GiB).toFixed(1)} GB`;
  await d.events.record({
    type: 'system', severity: 'warning', action: 'vm.create_refused_storage', userId,
    message: `${what.event} was refused: ${gb(free)} free in ${d.dataDir}, ${gb(promised)} promised to existing VM disks, ${d.minFreeDiskMb} MB kept free (TWARGA_MIN_FREE_DISK_MB)`,
    details: { disk_gb: growthGb, free_bytes: free, promised_bytes: promised, min_free_mb: d.minFreeDiskMb },
  });
  throw new AppError(507, 'insufficient_storage', `The host has no room for ${what.user} right now: choose a smaller disk, or ask an administrator to free space`);
}
