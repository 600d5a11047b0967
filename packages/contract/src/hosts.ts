import { Type, type Static } from '@sinclair/typebox';
import { Timestamp } from './common.js';

export const COMPUTE_DRIVERS = ['qemu', 'libvirt', 'vagrant'] as const;
export type ComputeDriverName = (typeof COMPUTE_DRIVERS)[number];
const DriverSchema = Type.Union(COMPUTE_DRIVERS.map((d) => Type.Literal(d)));

/** libvirt connection URIs: qemu:///system, qemu+libssh://user@host/system, qemu+unix:///system?socket=… */
export const LIBVIRT_URI_PATTERN = '^qemu(\\+(ssh|libssh|libssh2|tcp|tls|unix))?://[A-Za-z0-9._@:-]*/(system|session)(\\?[A-Za-z0-9._/=&-]*)?$';
export const HOST_NAME_PATTERN = '^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$';
/** libvirt storage pool names (also TWARGA_LIBVIRT_POOL's). */
export const LIBVIRT_POOL_PATTERN = '^[a-z][a-z0-9_-]{0,31}$';

export const ComputeHost = Type.Object(
  {
    id: Type.Integer(),
    name: Type.String(),
    driver: DriverSchema,
    uri: Type.Union([Type.String(), Type.Null()]),
    pool: Type.Union([Type.String(), Type.Null()], { description: "libvirt storage pool holding this host's disks, seeds and kernels (null for qemu and vagrant hosts)" }),
    pool_is_default: Type.Boolean({ description: "true while the host follows the server's TWARGA_LIBVIRT_POOL" }),
    ram_mb: Type.Integer({ description: 'RAM the scheduler may hand out on this host' }),
    vcpus: Type.Integer({ description: 'vCPUs the scheduler may hand out (set above the core count to overcommit)' }),
    /** A disabled host is out of service: no new VMs, and its VMs are neither reconciled nor acted on. */
    enabled: Type.Boolean(),
    /** A draining host keeps running and managing its VMs but receives no new ones. */
    draining: Type.Boolean(),
    usage: Type.Object({ vms: Type.Integer(), ram_mb: Type.Integer(), vcpus: Type.Integer() }),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { title: 'ComputeHost' },
);
export type ComputeHost = Static<typeof ComputeHost>;

/** A VM still placed on a host: what an admin draining the host has left to move or destroy. */
export const HostVm = Type.Object(
  {
    id: Type.Integer(),
    name: Type.String(),
    owner: Type.String({ description: 'username of the VM\'s owner' }),
    status: Type.String(),
  },
  { title: 'HostVm' },
);
export type HostVm = Static<typeof HostVm>;

export const ComputeHostDetail = Type.Composite([ComputeHost, Type.Object({ vms: Type.Array(HostVm) })], { title: 'ComputeHostDetail' });
export type ComputeHostDetail = Static<typeof ComputeHostDetail>;

export const CreateHostRequest = Type.Object(
  {
    name: Type.String({ pattern: HOST_NAME_PATTERN }),
    driver: DriverSchema,
    /** Required for libvirt; not used by qemu and vagrant (they run on this machine). */
    uri: Type.Optional(Type.String({ pattern: LIBVIRT_URI_PATTERN, maxLength: 300 })),
    /** libvirt only: the host's own storage pool (created if missing); absent or null: the server's TWARGA_LIBVIRT_POOL. */
    pool: Type.Optional(Type.Union([Type.String({ pattern: LIBVIRT_POOL_PATTERN }), Type.Null()])),
    ram_mb: Type.Integer({ minimum: 128, maximum: 16 * 1024 * 1024 }),
    vcpus: Type.Integer({ minimum: 1, maximum: 4096 }),
    enabled: Type.Optional(Type.Boolean()),
    draining: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, title: 'CreateHostRequest' },
);
export type CreateHostRequest = Static<typeof CreateHostRequest>;

export const UpdateHostRequest = Type.Object(
  {
    name: Type.Optional(Type.String({ pattern: HOST_NAME_PATTERN })),
    /** libvirt only, and only while the host has no VMs (their volumes live in the old pool); null: back to the server's pool. */
    pool: Type.Optional(Type.Union([Type.String({ pattern: LIBVIRT_POOL_PATTERN }), Type.Null()])),
    ram_mb: Type.Optional(Type.Integer({ minimum: 128, maximum: 16 * 1024 * 1024 })),
    vcpus: Type.Optional(Type.Integer({ minimum: 1, maximum: 4096 })),
    enabled: Type.Optional(Type.Boolean()),
    draining: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1, title: 'UpdateHostRequest' },
);
export type UpdateHostRequest = Static<typeof UpdateHostRequest>;

/** POST /api/admin/vms/{id}/migrate: a stopped VM to another host of the same kind (libvirt → libvirt); 202 with its `migrate` action. */
export const MigrateVmRequest = Type.Object({ host: Type.Integer({ description: 'id of the target compute host' }) }, { additionalProperties: false, title: 'MigrateVmRequest' });
export type MigrateVmRequest = Static<typeof MigrateVmRequest>;

