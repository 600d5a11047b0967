import { instanceId, snapshotId, type BootSource, type InstanceSpec } from '../../compute/driver.js';
import { seedFiles } from '../../cloudinit/seed-iso.js';
import type { VmRow } from './vms.repository.js';

/**
 * The driver's spec of a VM: shape, boot source, forwarded SSH port and its NoCloud seed (the
 * user's keys plus the server's console key, its user-data). One builder for the create, the
 * rebuild (same id, port and keys: only the disk is new) and the warm-up, so they cannot drift.
 */
export function instanceSpecOf(row: VmRow, boot: BootSource, consoleKey: string, opts: { status: string; fromSnapshot: boolean }): InstanceSpec {
  const id = instanceId(row.id);
  return {
    id,
    hostname: row.name,
    memoryMb: row.ram,
    vcpus: row.cpu,
    diskGb: row.disk,
    sshPort: row.ssh_port!,
    boot,
    seed: seedFiles({ instanceId: id, hostname: row.name, sshAuthorizedKeys: [...(JSON.parse(row.ssh_keys) as string[]), consoleKey], userData: row.user_data ?? undefined }),
    info: { name: row.name, user_id: row.user_id, os_type: row.os_type, ram: row.ram, cpu: row.cpu, disk: row.disk, status: opts.status, ip: null, created_at: row.created_at, uptime: 0 },
    // A VM made from a snapshot starts with the snapshot's disk (a rebuild starts from its image).
    ...(opts.fromSnapshot && row.snapshot_id !== null ? { fromSnapshot: snapshotId(row.snapshot_id) } : {}),
  };
}

/**
 * The spec a warm snapshot is built from: an image and a shape, no VM behind it (instance id
 * vm-0, which no VM has: ids start at 1). The warm pool keys its snapshots on boot source,
 * memory and vCPUs; identity (seed, hostname, port) is applied per VM at its instant start.
 */
export function warmSpecOf(boot: BootSource, shape: { ram: number; cpu: number; disk: number }): InstanceSpec {
  return {
    id: instanceId(0),
    hostname: 'warm',
    memoryMb: shape.ram,
    vcpus: shape.cpu,
    diskGb: shape.disk,
    sshPort: 0,
    boot,
    seed: seedFiles({ instanceId: instanceId(0), hostname: 'warm', sshAuthorizedKeys: [] }),
    info: { name: 'warm', status: 'warm' },
  };
}
