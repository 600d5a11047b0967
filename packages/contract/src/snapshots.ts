import { Type, type Static } from '@sinclair/typebox';
import { Timestamp } from './common.js';
import { SNAPSHOT_NAME_PATTERN } from './constants.js';

/**
 * creating: the snapshot action runs; available: restorable; error: the copy failed (delete it);
 * deleting: its files are being removed. Deleted snapshots leave the list (their rows stay for billing).
 */
export const SnapshotStatuses = ['creating', 'available', 'deleting', 'error'] as const;
export type SnapshotStatus = (typeof SnapshotStatuses)[number];

/** A point-in-time copy of a VM's disk (and, with memory, its RAM), owned by the VM's owner. */
export const Snapshot = Type.Object(
  {
    id: Type.Integer(),
    user_id: Type.Integer(),
    /** The VM it was taken from; null once that VM is destroyed (the snapshot lives on). */
    vm_id: Type.Union([Type.Integer(), Type.Null()]),
    vm_name: Type.String(),
    name: Type.String(),
    status: Type.Union(SnapshotStatuses.map((s) => Type.Literal(s))),
    /** RAM state included: a restore resumes the VM where it was, processes and all. */
    memory: Type.Boolean(),
    /** The guest's filesystems were frozen (guest agent fsfreeze) while the disk was copied. */
    quiesced: Type.Boolean(),
    /** Bytes the snapshot takes on its host (disk copy plus RAM state). */
    size_bytes: Type.Integer(),
    /** Billed size: size_bytes in GB, rounded up. */
    size_gb: Type.Integer(),
    /** Credits per month at its size. */
    price_monthly: Type.Number(),
    /** The source VM's image, os_type and disk (a VM made from it needs at least this disk). */
    image: Type.String(),
    os_type: Type.String(),
    min_disk: Type.Integer(),
    ram: Type.Integer(),
    cpu: Type.Integer(),
    host_id: Type.Union([Type.Integer(), Type.Null()]),
    error: Type.Union([Type.String(), Type.Null()]),
    created_at: Timestamp,
  },
  { title: 'Snapshot' },
);
export type Snapshot = Static<typeof Snapshot>;

/** Snapshot quota and price, for the Snapshots tab. */
export const SnapshotList = Type.Object(
  {
    snapshots: Type.Array(Snapshot),
    /** How many snapshots the user has, and may have. */
    used: Type.Integer(),
    limit: Type.Integer(),
    price_gb_month: Type.Number(),
  },
  { title: 'SnapshotList' },
);
export type SnapshotList = Static<typeof SnapshotList>;

/** Where a VM's instant start stands: the warm snapshot of its image and shape. */
export const WarmSnapshotStates = ['ready', 'building', 'missing', 'stale', 'failed'] as const;
export type WarmSnapshotState = (typeof WarmSnapshotStates)[number];

/** POST /api/vms/{id}/snapshots (the snapshot action's own fields). */
export const CreateSnapshotRequest = Type.Object(
  {
    name: Type.Optional(Type.String({ pattern: SNAPSHOT_NAME_PATTERN, maxLength: 64 })),
    /** Also save the RAM (the VM must be running), like Proxmox's "include RAM". */
    memory: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type CreateSnapshotRequest = Static<typeof CreateSnapshotRequest>;
