import { Type, type Static } from '@sinclair/typebox';
import { Timestamp } from './common.js';
import type { AlertStreamEvent } from './alerts.js';
import type { Event } from './events.js';
import type { MetricsStreamEvent } from './metrics.js';

import { SNAPSHOT_NAME_PATTERN, USER_DATA_MAX_BYTES, VM_NAME_PATTERN } from './constants.js';

/** DigitalOcean's tag names: letters, digits, _ : . and -, 1–255 characters. */
export const VM_TAG_PATTERN = '^[a-zA-Z0-9_:.-]{1,255}$';

/** paused: the VM's process runs but its hypervisor halted the guest (status_reason says why, e.g. io-error). */
export const VmStatuses = ['pending', 'provisioning', 'running', 'paused', 'stopping', 'stopped', 'rebooting', 'destroying', 'destroyed', 'error'] as const;
export type VmStatus = (typeof VmStatuses)[number];
export const VmStatus = Type.Union(VmStatuses.map((s) => Type.Literal(s)));

export const ActionTypes = ['create', 'start', 'stop', 'reboot', 'destroy', 'snapshot', 'restore', 'resize', 'rebuild', 'migrate'] as const;
export type ActionType = (typeof ActionTypes)[number];
export const ActionStatuses = ['in-progress', 'completed', 'errored'] as const;
export type ActionStatus = (typeof ActionStatuses)[number];

/** A DigitalOcean-style action: every long operation on a VM is one. */
export const Action = Type.Object(
  {
    id: Type.Integer(),
    vm_id: Type.Integer(),
    user_id: Type.Integer(),
    type: Type.Union(ActionTypes.map((t) => Type.Literal(t))),
    status: Type.Union(ActionStatuses.map((s) => Type.Literal(s))),
    started_at: Timestamp,
    completed_at: Type.Union([Timestamp, Type.Null()]),
    error: Type.Union([Type.String(), Type.Null()]),
    /** A stop or reboot that skipped the graceful ACPI step (force: true). */
    forced: Type.Boolean(),
  },
  { title: 'Action' },
);
export type Action = Static<typeof Action>;

export const ActionLogLine = Type.Object({ at: Timestamp, line: Type.String() }, { title: 'ActionLogLine' });
export type ActionLogLine = Static<typeof ActionLogLine>;

/** The action's steps and what the driver printed meanwhile (e.g. `vagrant up`), oldest first. */
export const ActionLog = Type.Object({ action_id: Type.Integer(), lines: Type.Array(ActionLogLine) }, { title: 'ActionLog' });
export type ActionLog = Static<typeof ActionLog>;

/** A running VM's liveness as the guest shows it (null when the VM is not running). */
export const VmHealths = ['booting', 'responsive', 'unresponsive'] as const;
export type VmHealth = (typeof VmHealths)[number];
export const VmHealth = Type.Union(VmHealths.map((h) => Type.Literal(h)));

/** The seed's VM fields (name, status, os_type, ram, cpu, disk, ip_address, created_at) and more. */
export const Vm = Type.Object(
  {
    id: Type.Integer(),
    user_id: Type.Integer(),
    name: Type.String(),
    status: VmStatus,
    os_type: Type.String(),
    image: Type.String(),
    size: Type.Union([Type.String(), Type.Null()]),
    /** MiB */
    ram: Type.Integer(),
    cpu: Type.Integer(),
    /** GiB */
    disk: Type.Integer(),
    price_hourly: Type.Number(),
    driver: Type.String(),
    /** Private address inside the VM's network. */
    ip_address: Type.Union([Type.String(), Type.Null()]),
    /** The compute host the VM was placed on (admin API: /api/admin/hosts). */
    host_id: Type.Union([Type.Integer(), Type.Null()]),
    ssh_host: Type.String(),
    ssh_port: Type.Union([Type.Integer(), Type.Null()]),
    ssh_user: Type.String(),
    /** Ready to paste: ssh -p <port> root@127.0.0.1 */
    ssh_command: Type.Union([Type.String(), Type.Null()]),
    locked: Type.Boolean(),
    error: Type.Union([Type.String(), Type.Null()]),
    /** Why the VM is in its status, as its hypervisor says: for paused, 'paused' (stopped by an operator), 'io-error' (a disk write failed, e.g. a full disk)… */
    status_reason: Type.Union([Type.String(), Type.Null()]),
    created_at: Timestamp,
    updated_at: Timestamp,
    booted_at: Type.Union([Timestamp, Type.Null()]),
    uptime_seconds: Type.Union([Type.Integer(), Type.Null()]),
    /**
     * Whether the guest shows signs of life, apart from the hypervisor's status: null unless running;
     * booting until the guest agent (or, without one, the SSH banner) first answers; unresponsive when
     * it stops answering, or never answered within the boot watchdog's time.
     */
    health: Type.Union([VmHealth, Type.Null()]),
    /** When health took its current value. */
    health_since: Type.Union([Timestamp, Type.Null()]),
    /** Opt-in: an unresponsive VM is reset (hard reset) once per boot. */
    watchdog_reset: Type.Boolean(),
    /** The VM's tags (GET /api/vms and /api/vms/{id}, the create answer and live VM events); admin lists leave them out. */
    tags: Type.Optional(Type.Array(Type.String())),
  },
  { title: 'Vm' },
);
export type Vm = Static<typeof Vm>;

export const CreateVmRequest = Type.Object(
  {
    name: Type.String({ pattern: VM_NAME_PATTERN, maxLength: 63, description: 'Hostname rules: a-z, 0-9 and -, 1–63 characters' }),
    /** Image slug (e.g. tiny). Either image or os_type. */
    image: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,63}$' })),
    /** Seed OS name (ubuntu, debian, centos, tiny…) or a seed box name such as ubuntu/jammy64. */
    os_type: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9./_-]{0,63}$' })),
    /** Size slug (e.g. s-1vcpu-512mb). Either size or ram+cpu+disk. */
    size: Type.Optional(Type.String({ pattern: '^[a-z0-9-]{1,64}$' })),
    ram: Type.Optional(Type.Integer({ minimum: 64, description: 'MiB' })),
    cpu: Type.Optional(Type.Integer({ minimum: 1 })),
    disk: Type.Optional(Type.Integer({ minimum: 1, description: 'GiB' })),
    /** Your SSH key ids or fingerprints to install for root. */
    ssh_keys: Type.Optional(Type.Array(Type.Union([Type.Integer({ minimum: 1 }), Type.String({ maxLength: 128 })]), { maxItems: 32 })),
    user_data: Type.Optional(Type.String({ maxLength: USER_DATA_MAX_BYTES })),
    /** Reset the VM once per boot when it becomes unresponsive (boot watchdog or lost agent). Default false. */
    watchdog_reset: Type.Optional(Type.Boolean()),
    /**
     * One of your snapshots: the new VM starts with its disk (image and os_type come from it; give
     * neither). It gets its own identity: hostname, SSH host keys, instance-id, your keys.
     */
    snapshot_id: Type.Optional(Type.Integer({ minimum: 1 })),
    /** Tags (DigitalOcean's rules): list and filter VMs by them (/v2 ?tag_name=). */
    tags: Type.Optional(Type.Array(Type.String({ pattern: VM_TAG_PATTERN }), { maxItems: 64 })),
    /** A compute host's name: the VM is placed on that host (default: wherever the scheduler finds room). */
    region: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' })),
  },
  { additionalProperties: false },
);
export type CreateVmRequest = Static<typeof CreateVmRequest>;

export const CreatedVm = Type.Composite([Vm, Type.Object({ action: Action, message: Type.String() })]);
export type CreatedVm = Static<typeof CreatedVm>;

export const VmActionNames = ['start', 'stop', 'restart', 'reboot', 'destroy', 'snapshot', 'restore', 'resize', 'rebuild'] as const;

/**
 * Every long operation on a VM. Fields beyond action belong to one action each:
 * - snapshot: name (default: <vm>-<time>), memory (also save RAM; the VM must run);
 * - restore: snapshot_id (one of this VM's snapshots; a disk snapshot stops the VM first);
 * - resize: size, or ram/cpu/disk (RAM and vCPUs while stopped; the disk only grows);
 * - rebuild: image (default: the VM's own) and confirm, the VM's name typed out (its disk is wiped).
 */
export const VmActionRequest = Type.Object(
  {
    action: Type.Union(VmActionNames.map((a) => Type.Literal(a))),
    /** stop/reboot/destroy: skip the graceful ACPI shutdown and kill at once. */
    force: Type.Optional(Type.Boolean()),
    name: Type.Optional(Type.String({ pattern: SNAPSHOT_NAME_PATTERN, maxLength: 64 })),
    memory: Type.Optional(Type.Boolean()),
    snapshot_id: Type.Optional(Type.Integer({ minimum: 1 })),
    size: Type.Optional(Type.String({ pattern: '^[a-z0-9-]{1,64}$' })),
    ram: Type.Optional(Type.Integer({ minimum: 64, description: 'MiB' })),
    cpu: Type.Optional(Type.Integer({ minimum: 1 })),
    disk: Type.Optional(Type.Integer({ minimum: 1, description: 'GiB' })),
    image: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,63}$' })),
    confirm: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);
export type VmActionRequest = Static<typeof VmActionRequest>;

export const VmStatusResponse = Type.Object({
  id: Type.Integer(),
  status: VmStatus,
  status_reason: Type.Union([Type.String(), Type.Null()]),
  locked: Type.Boolean(),
  ip_address: Type.Union([Type.String(), Type.Null()]),
  uptime_seconds: Type.Union([Type.Integer(), Type.Null()]),
});
export type VmStatusResponse = Static<typeof VmStatusResponse>;

/** What a running VM has used since it booted, as its hypervisor counts it (sample twice for rates). */
export const VmStats = Type.Object(
  {
    vm_id: Type.Integer(),
    sampled_at: Timestamp,
    /** CPU time of the VM's QEMU on its host (guest vCPUs and emulation) */
    cpu_seconds: Type.Number(),
    /** Resident memory of the VM's QEMU on its host */
    memory_rss_bytes: Type.Integer(),
    disk_read_bytes: Type.Integer(),
    disk_write_bytes: Type.Integer(),
    /** null where nothing counts them (the qemu driver's user-mode networking) */
    network_rx_bytes: Type.Union([Type.Integer(), Type.Null()]),
    network_tx_bytes: Type.Union([Type.Integer(), Type.Null()]),
  },
  { title: 'VmStats' },
);
export type VmStats = Static<typeof VmStats>;

export const Image = Type.Object(
  {
    slug: Type.String(),
    name: Type.String(),
    distribution: Type.String(),
    version: Type.String(),
    /** GiB */
    min_disk: Type.Integer(),
    /** builtin: ships with the server; built: built on this host from packages (debian-12); url: downloaded by an admin. */
    kind: Type.Union([Type.Literal('builtin'), Type.Literal('built'), Type.Literal('url')]),
    status: Type.Union(['available', 'pending', 'downloading', 'building', 'error'].map((s) => Type.Literal(s))),
    /** 0..1 while downloading or building */
    progress: Type.Union([Type.Number(), Type.Null()]),
    /** The user VMs of this image log in as over SSH (cloud-init's default user), e.g. debian. */
    ssh_user: Type.String(),
    /** Why the image is in error; shown to admins only (always null for other users). */
    error: Type.Union([Type.String(), Type.Null()]),
  },
  { title: 'Image' },
);
export type Image = Static<typeof Image>;

export const RegisterImageRequest = Type.Object(
  {
    slug: Type.String({ pattern: '^[a-z0-9][a-z0-9.-]{1,63}$' }),
    name: Type.String({ minLength: 1, maxLength: 128 }),
    distribution: Type.String({ minLength: 1, maxLength: 64 }),
    version: Type.String({ minLength: 1, maxLength: 64 }),
    /** Seed OS name it answers to, e.g. ubuntu */
    os_type: Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,63}$' }),
    min_disk: Type.Integer({ minimum: 1, maximum: 2048 }),
    url: Type.String({ pattern: '^https?://', maxLength: 2048 }),
    /** Expected SHA-256 of the file (hex). Either this or checksums_url. */
    sha256: Type.Optional(Type.String({ pattern: '^[a-f0-9]{64}$' })),
    /** A SHA256SUMS file listing the image's file name. */
    checksums_url: Type.Optional(Type.String({ pattern: '^https?://', maxLength: 2048 })),
    /** The user VMs of this image log in as (the image's cloud-init default user). Default root. */
    ssh_user: Type.Optional(Type.String({ pattern: '^[a-z_][a-z0-9_-]{0,31}$' })),
  },
  { additionalProperties: false },
);
export type RegisterImageRequest = Static<typeof RegisterImageRequest>;

export const Size = Type.Object(
  {
    slug: Type.String(),
    description: Type.String(),
    /** MiB */
    memory: Type.Integer(),
    vcpus: Type.Integer(),
    /** GiB */
    disk: Type.Integer(),
    /** Credits per hour */
    price_hourly: Type.Number(),
  },
  { title: 'Size' },
);
export type Size = Static<typeof Size>;

/** What the single events channel (GET /api/events/stream, server-sent events) pushes. */
export type StreamEvent =
  | { kind: 'vm'; vm: Vm }
  | { kind: 'action'; action: Action }
  | { kind: 'action_log'; vm_id: number; action_id: number; line: ActionLogLine }
  | { kind: 'hello'; user_id: number }
  /** The last event of a stream: its login, or the admin rights it relied on, went away. */
  | { kind: 'revoked'; reason: 'credential' | 'right'; message: string }
  /** A metrics sample (collector, every metricsIntervalSeconds). */
  | MetricsStreamEvent
  /** An alert opened or resolved. */
  | AlertStreamEvent
  /** An event the event log just stored (or folded a repeat into: count and last_seen tell). */
  | { kind: 'event'; event: Event };
