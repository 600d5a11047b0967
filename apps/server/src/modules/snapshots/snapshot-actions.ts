import path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { ExclusiveLock } from '../../lib/cluster-lock.js';
import { hasSnapshots, instanceId, snapshotId, type ComputeDriver, type SnapshotStore } from '../../compute/driver.js';
import type { ComputeRegistry } from '../../compute/registry.js';
import { AppError, conflict, notFound, quotaExceeded } from '../../http/errors.js';
import { freeBytes, GiB, MiB } from '../../lib/disk-space.js';
import { publicMessage } from '../../lib/public-message.js';
import type { Clock } from '../../lib/time.js';
import type { EventLog } from '../events/event-log.js';
import type { UsersRepository } from '../users/users.repository.js';
import type { VmRow } from '../vms/vms.repository.js';
import { billedGb } from '../../lib/snapshot-size.js';
import type { SnapshotRow, SnapshotsRepository } from './snapshots.repository.js';

export type { SnapshotRow } from './snapshots.repository.js';

export interface SnapshotPolicy {
  /** Server-wide snapshot quota per user (an admin may override it: users.quota_max_snapshots). */
  maxSnapshotsPerUser: number;
  /** Snapshots are stored under <dataDir>/snapshots on a QEMU host. */
  dataDir: string;
  /** Space the data dir's filesystem keeps free (TWARGA_MIN_FREE_DISK_MB). */
  minFreeDiskMb: number;
}

/** What a VM made from a snapshot needs (POST /api/vms {snapshot_id}). */
export interface SnapshotSource {
  /** snapshots.id (the VM's snapshot_id). */
  id: number;
  /** The driver's name for it: InstanceSpec.fromSnapshot. */
  snap: string;
  image: string;
  os_type: string;
  /** GiB: the new VM's disk must be at least the source VM's. */
  minDisk: number;
  ram: number;
  cpu: number;
  /** The snapshot's files are on this host: the new VM must be placed there. */
  hostId: number | null;
  driver: string;
  memory: boolean;
}

export interface SnapshotActionsDeps {
  repo: SnapshotsRepository;
  users: UsersRepository;
  drivers: ComputeRegistry;
  events: EventLog;
  clock: Clock;
  log: FastifyBaseLogger;
  policy: SnapshotPolicy;
  /** Quota and name checks read what exists, then the insert adds to it: one admission at a time, across server processes. */
  admission: ExclusiveLock;
}

/**
 * The snapshot rules the VM actions run (the VM's lock is held by the caller): admission at
 * request time, then the driver work inside the action. Also what a VM made from a snapshot
 * needs, and the snapshot's own deletion.
 */
export class SnapshotActions {
  /** Snapshots a restore or a VM creation reads right now: they cannot be deleted meanwhile. */
  private readonly inUse = new Map<number, number>();

  constructor(private readonly d: SnapshotActionsDeps) {}

  private now() {
    return this.d.clock.now().toISOString();
  }

  /** The effective snapshot quota of a user: an admin's override, else the server-wide limit. */
  async limitFor(userId: number): Promise<number> {
    const user = await this.d.users.findById(userId);
    return user?.quota_max_snapshots ?? this.d.policy.maxSnapshotsPerUser;
  }

  /** The VM's driver if it can take snapshots, else 409 not_supported naming the driver. */
  async driverOf(target: { host_id: number | null }): Promise<ComputeDriver & SnapshotStore> {
    const host = await this.d.drivers.hostOf(target);
    if (!host) throw conflict('This VM has no compute host');
    const driver = this.d.drivers.forHost(host);
    if (!hasSnapshots(driver)) throw new AppError(409, 'not_supported', `Snapshots are not supported by the ${driver.info().name} driver (host ${host.name}); only QEMU hosts keep snapshots`);
    return driver;
  }

  /**
   * The snapshot action's checks at request time, and its row ('creating'). 409 not_supported,
   * 409 for a memory snapshot of a VM that is not running or a name in use, 403 quota_exceeded,
   * 507 insufficient_storage when the data dir cannot hold a copy of the VM's whole disk.
   */
  async admitSnapshot(vm: VmRow, req: { name?: string; memory?: boolean }): Promise<SnapshotRow> {
    const driver = await this.driverOf(vm);
    const memory = req.memory === true;
    if (memory && vm.status !== 'running') throw conflict(`A snapshot with RAM needs a running VM; ${vm.name} is ${vm.status}`, [{ field: 'memory', message: 'needs a running VM' }]);
    return this.d.admission.runExclusive(async () => {
      const { repo } = this.d;
      const limit = await this.limitFor(vm.user_id);
      const used = await repo.countLive(vm.user_id);
      if (used >= limit) throw quotaExceeded(`at most ${limit} snapshots per user (${used} kept; delete one first)`);
      const name = req.name ?? (await this.defaultName(vm));
      if (await repo.nameTaken(vm.user_id, name)) throw conflict(`You already have a snapshot named ${name}`, [{ field: 'name', message: 'is already used by one of your snapshots' }]);
      await this.ensureRoom(vm, memory, driver);
      const now = this.now();
      return repo.insert({
        user_id: vm.user_id, vm_id: vm.id, vm_name: vm.name, name, status: 'creating', memory: memory ? 1 : 0, quiesced: 0, size_bytes: 0,
        image: vm.image, os_type: vm.os_type, disk: vm.disk, ram: vm.ram, cpu: vm.cpu, driver: vm.driver, host_id: vm.host_id,
        error: null, billed_until: null, created_at: now, updated_at: now, deleted_at: null,
      });
    });
  }

  /** <vm>-<YYYYMMDD-HHMMSS> (UTC), with -2, -3… when two land in one second. */
  private async defaultName(vm: VmRow): Promise<string> {
    const stamp = this.now().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
    const base = `${vm.name}-${stamp}`;
    for (let n = 1; ; n++) {
      const name = n === 1 ? base : `${base}-${n}`;
      if (!(await this.d.repo.nameTaken(vm.user_id, name))) return name;
    }
  }

  /**
   * A snapshot copies the VM's disk (thin, but it may be full) and, with RAM, its memory: the
   * data dir must hold that and still keep TWARGA_MIN_FREE_DISK_MB free, or a full filesystem
   * would pause every guest on the host.
   */
  private async ensureRoom(vm: VmRow, memory: boolean, driver: ComputeDriver): Promise<void> {
    const { dataDir, minFreeDiskMb } = this.d.policy;
    const free = await freeBytes(path.join(dataDir, 'snapshots'));
    const needed = vm.disk * GiB + (memory ? vm.ram * MiB : 0) + minFreeDiskMb * MiB;
    if (free >= needed) return;
    const gb = (bytes: number) => `${(bytes / GiB).toFixed(1)} GB`;
    await this.d.events.record({
      type: 'system', severity: 'warning', action: 'vm.snapshot_failed', userId: vm.user_id, vmId: vm.id,
      message: `A snapshot of VM ${vm.name} was refused: ${gb(free)} free in ${dataDir}, ${gb(needed)} needed (${vm.disk} GB disk${memory ? ` + ${vm.ram} MB RAM` : ''} + ${minFreeDiskMb} MB kept free)`,
      details: { free_bytes: free, needed_bytes: needed, driver: driver.info().name },
    });
    throw new AppError(507, 'insufficient_storage', `The host has no room for a snapshot of this VM (${vm.disk} GB disk) right now: delete old snapshots, or ask an administrator to free space`);
  }

  /** Admitted but never dispatched (e.g. the action's insert failed): the row goes away. */
  async abandon(snap: SnapshotRow, reason: string): Promise<void> {
    const now = this.now();
    await this.d.repo.update(snap.id, { status: 'error', error: reason.slice(0, 1000), updated_at: now, deleted_at: now });
  }

  /**
   * The snapshot action's work: the driver copies the disk (and RAM); the row becomes available
   * and its storage is charged from now. A failure leaves the row in error with the reason, its
   * partial files removed, and fails the action.
   */
  async runSnapshot(vm: VmRow, snap: SnapshotRow, step: (line: string) => void): Promise<SnapshotRow> {
    const { repo, log } = this.d;
    const memory = snap.memory === 1;
    const snap_ = snapshotId(snap.id);
    let driver: (ComputeDriver & SnapshotStore) | undefined;
    try {
      driver = await this.driverOf(vm);
      step(`Saving snapshot ${snap.name}: ${memory ? 'disk and RAM' : 'disk'} of ${vm.name} (${vm.status})`);
      const result = await driver.createSnapshot(instanceId(vm.id), snap_, { memory });
      const now = this.now();
      const row = await repo.update(snap.id, {
        status: 'available', size_bytes: result.sizeBytes, memory: result.memory ? 1 : 0, quiesced: result.quiesced ? 1 : 0, error: null, billed_until: now, updated_at: now,
      });
      const how = result.quiesced ? 'filesystems frozen through the guest agent while the disk was copied' : vm.status === 'running' ? 'not quiesced: the guest agent did not answer' : 'VM stopped';
      step(`Snapshot ${snap.name} saved: ${(result.sizeBytes / 1e6).toFixed(1)} MB, billed as ${billedGb(result.sizeBytes)} GB${result.memory ? ', with RAM' : ''} (${how})`);
      return row;
    } catch (err) {
      const raw = err instanceof Error ? err.message : String(err);
      await repo.update(snap.id, { status: 'error', error: publicMessage(raw).slice(0, 1000), updated_at: this.now() }).catch((e: unknown) => log.error({ err: e, snapshot: snap.id }, 'could not mark a failed snapshot'));
      await driver?.deleteSnapshot(snap_).catch((e: unknown) => log.warn({ err: e, snapshot: snap.id }, 'could not remove the files of a failed snapshot'));
      throw err;
    }
  }

  /**
   * The restore action's checks: the VM's own snapshot (another VM's or user's is "not found"),
   * ready to restore, and one whose RAM state fits the VM's current shape.
   */
  async admitRestore(vm: VmRow, id: number): Promise<SnapshotRow> {
    const snap = await this.d.repo.find(id);
    if (!snap || snap.deleted_at || snap.vm_id !== vm.id) throw notFound('Snapshot');
    await this.driverOf(vm);
    if (snap.status !== 'available') throw conflict(`Snapshot ${snap.name} is ${snap.status}: only an available snapshot can be restored`);
    if (snap.memory === 1 && (snap.ram !== vm.ram || snap.cpu !== vm.cpu)) {
      throw conflict(`Snapshot ${snap.name} holds RAM state of a ${snap.ram} MB / ${snap.cpu} vCPU VM; ${vm.name} is ${vm.ram} MB / ${vm.cpu} vCPU now (resized since)`);
    }
    return snap;
  }

  /** The restore action's work; the snapshot cannot be deleted while it runs. Returns whether the VM runs afterwards. */
  async runRestore(vm: VmRow, snap: SnapshotRow, step: (line: string) => void): Promise<{ running: boolean }> {
    const driver = await this.driverOf(vm);
    step(`Restoring ${vm.name} to snapshot ${snap.name} of ${snap.created_at.slice(0, 19).replace('T', ' ')} UTC${snap.memory === 1 ? ' (disk and RAM)' : ' (disk)'}`);
    const outcome = await this.using(snap.id, () => driver.restoreSnapshot(instanceId(vm.id), snapshotId(snap.id)));
    step(outcome.running ? 'Restored: the VM runs from the saved RAM state' : 'Restored: the VM is stopped with the snapshot\'s disk');
    return outcome;
  }

  /** The user's own available snapshot, for a new VM made from it (404 for anyone else's). */
  async forNewVm(userId: number, id: number): Promise<SnapshotSource> {
    const snap = await this.d.repo.find(id);
    if (!snap || snap.deleted_at || snap.user_id !== userId) throw notFound('Snapshot');
    await this.driverOf(snap);
    if (snap.status !== 'available') throw conflict(`Snapshot ${snap.name} is ${snap.status}: only an available snapshot can seed a VM`);
    return { id: snap.id, snap: snapshotId(snap.id), image: snap.image, os_type: snap.os_type, minDisk: snap.disk, ram: snap.ram, cpu: snap.cpu, hostId: snap.host_id, driver: snap.driver, memory: snap.memory === 1 };
  }

  /** Runs fn while the snapshot is read (a restore, a VM created from it): a delete gets 409 meanwhile. */
  async using<T>(id: number, fn: () => Promise<T>): Promise<T> {
    this.inUse.set(id, (this.inUse.get(id) ?? 0) + 1);
    try {
      return await fn();
    } finally {
      const n = this.inUse.get(id)! - 1;
      if (n === 0) this.inUse.delete(id);
      else this.inUse.set(id, n);
    }
  }

  isInUse(id: number): boolean {
    return this.inUse.has(id);
  }

  /** The VM was destroyed: its snapshots stay (vm_id NULL), restorable into new VMs. */
  async detachVm(vmId: number): Promise<void> {
    await this.d.repo.detachVm(vmId, this.now());
  }
}
