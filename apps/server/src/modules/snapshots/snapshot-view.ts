import type { Snapshot, SnapshotStatus } from '@twarga/contract';
import { billedGb } from '../../lib/snapshot-size.js';
import type { SnapshotRow } from './snapshots.repository.js';


export function toSnapshot(r: SnapshotRow, priceGbMonth: number): Snapshot {
  const sizeGb = billedGb(r.size_bytes);
  return {
    id: r.id,
    user_id: r.user_id,
    vm_id: r.vm_id,
    vm_name: r.vm_name,
    name: r.name,
    status: r.status as SnapshotStatus,
    memory: r.memory === 1,
    quiesced: r.quiesced === 1,
    size_bytes: Number(r.size_bytes),
    size_gb: sizeGb,
    price_monthly: sizeGb * priceGbMonth,
    image: r.image,
    os_type: r.os_type,
    min_disk: r.disk,
    ram: r.ram,
    cpu: r.cpu,
    host_id: r.host_id,
    error: r.error,
    created_at: r.created_at,
  };
}
