import type { ActionType, VmActionRequest } from '@twarga/contract';
import { canRebuild, canResize, instanceId, type ComputeDriver } from '../../compute/driver.js';
import type { ComputeRegistry } from '../../compute/registry.js';
import type { SnapshotRow, SnapshotSource } from '../snapshots/snapshot-actions.js';
import { AppError, badRequest, quotaExceeded } from '../../http/errors.js';
import type { EventLog } from '../events/event-log.js';
import type { HostsService } from '../hosts/hosts.service.js';
import type { ImagesService } from '../images/images.service.js';
import type { ConsoleKeys } from '../terminal/console-keys.js';
import type { UsersRepository } from '../users/users.repository.js';
import { hourlyPrice } from '../sizes/sizes.js';
import { ensureHostStorage } from './host-storage.js';
import { instanceSpecOf } from './instance-spec.js';
import { effectiveLimits, type Limits } from './quota.js';
import { resolveShape, type Shape } from './shape.js';
import type { VmOperations } from './vm-operations.js';
import type { VmRow, VmsRepository } from './vms.repository.js';

export type { SnapshotRow, SnapshotSource };

/**
 * The snapshots module as the VM actions use it (modules/snapshots/snapshot-actions.ts): the
 * rules and rows of snapshots are its own; the VM's lock, action, statuses and log are ours.
 */
export interface SnapshotPort {
  admitSnapshot(vm: VmRow, req: { name?: string; memory?: boolean }): Promise<SnapshotRow>;
  runSnapshot(vm: VmRow, snap: SnapshotRow, step: (line: string) => void): Promise<SnapshotRow>;
  abandon(snap: SnapshotRow, reason: string): Promise<void>;
  admitRestore(vm: VmRow, snapshotId: number): Promise<SnapshotRow>;
  runRestore(vm: VmRow, snap: SnapshotRow, step: (line: string) => void): Promise<{ running: boolean }>;
  forNewVm(userId: number, snapshotId: number): Promise<SnapshotSource>;
  using<T>(snapshotId: number, fn: () => Promise<T>): Promise<T>;
  detachVm(vmId: number): Promise<void>;
}

export interface VmMaintenanceDeps {
  vms: VmsRepository;
  users: UsersRepository;
  hosts: HostsService;
  drivers: ComputeRegistry;
  images: ImagesService;
  consoleKeys: ConsoleKeys;
  ops: VmOperations;
  events: EventLog;
  snapshots: SnapshotPort;
  /** The server-wide limits (an admin may override them per user). */
  defaultLimits: () => Limits;
  dataDir: string;
  minFreeDiskMb: number;
}

/** What an admitted action will do, once its action row exists (and how to undo its admission if that fails). */
export interface Prepared {
  work: () => Promise<void>;
  abandon?: (reason: string) => Promise<void>;
}

const MAINTENANCE: ActionType[] = ['snapshot', 'restore', 'resize', 'rebuild'];
export const isMaintenance = (type: ActionType) => MAINTENANCE.includes(type);

const notSupported = (driver: ComputeDriver, what: string) => new AppError(409, 'not_supported', `The ${driver.info().name} driver cannot ${what}`);

/**
 * Snapshot, restore, resize and rebuild of an existing VM. Each is a VM action (lock, log,
 * events, like start and stop): validate() answers bad input before the lock is taken, admit()
 * checks what the VM and its host allow under the lock (every refusal is answered to the request),
 * and the returned work runs in the background through VmOperations.
 */
export class VmMaintenance {
  constructor(private readonly d: VmMaintenanceDeps) {}

  /**
   * Resizes admitted but not yet written to their VM's row (the row changes when the driver is
   * done): what each adds to its user's RAM, vCPUs and disk, so a launch or another resize
   * admitted meanwhile counts it (one process owns the database, as for the admission lock).
   */
  private readonly growing = new Map<number, { userId: number; ram: number; cpu: number; disk: number }>();

  /** What the user's resizes under way add to the rows' RAM, vCPUs and disk. */
  pendingGrowth(userId: number): { ram: number; cpu: number; disk: number } {
    const sum = { ram: 0, cpu: 0, disk: 0 };
    for (const g of this.growing.values()) {
      if (g.userId !== userId) continue;
      sum.ram += g.ram;
      sum.cpu += g.cpu;
      sum.disk += g.disk;
    }
    return sum;
  }

  /** Input that is wrong whatever the VM's state: a 400 before the lock. */
  validate(row: VmRow, type: ActionType, req: VmActionRequest): void {
    if (type === 'restore' && req.snapshot_id === undefined) throw badRequest('Say which snapshot to restore', [{ field: 'snapshot_id', message: 'is required' }]);
    if (type === 'rebuild' && req.confirm !== row.name) {
      throw badRequest(`Type the VM's name (${row.name}) in confirm to rebuild it: its disk and everything on /data will be wiped`, [
        { field: 'confirm', message: req.confirm === undefined ? 'is required' : "must be the VM's name exactly" },
      ]);
    }
    if (type === 'resize') this.targetShape(row, req);
  }

  /** Why the VM's status refuses the action, for the 409 (start and stop say it plainly). */
  static statusMessage(type: ActionType, status: string): string | undefined {
    if (type === 'resize' && (status === 'running' || status === 'paused')) return `Cannot resize a VM that is ${status}: stop it first (RAM, vCPUs and disk change while it is stopped)`;
    if (type === 'rebuild' && (status === 'running' || status === 'paused')) return `Cannot rebuild a VM that is ${status}: stop it first`;
    return undefined;
  }

  /** The checks under the VM's lock; the work to dispatch. */
  async admit(current: VmRow, type: ActionType, req: VmActionRequest): Promise<Prepared> {
    const driver = await this.d.drivers.forVm(current);
    switch (type) {
      case 'snapshot': {
        const snap = await this.d.snapshots.admitSnapshot(current, { name: req.name, memory: req.memory });
        return { work: () => this.snapshot(current, snap), abandon: (reason) => this.d.snapshots.abandon(snap, reason) };
      }
      case 'restore': {
        const snap = await this.d.snapshots.admitRestore(current, req.snapshot_id!);
        return { work: () => this.restore(current, snap) };
      }
      case 'resize': {
        const to = this.targetShape(current, req);
        if (!canResize(driver)) throw notSupported(driver, 'resize VMs');
        await this.admitResize(current, to);
        const growth = { userId: current.user_id, ram: Math.max(0, to.ram - current.ram), cpu: Math.max(0, to.cpu - current.cpu), disk: to.disk - current.disk };
        this.growing.set(current.id, growth);
        const done = () => void this.growing.delete(current.id);
        return {
          work: () => this.resize(current, to).finally(done),
          abandon: async () => done(),
        };
      }
      case 'rebuild': {
        if (!canRebuild(driver)) throw notSupported(driver, 'rebuild VMs');
        const image = await this.d.images.resolve({ image: req.image ?? current.image });
        if (image.min_disk > current.disk) {
          throw badRequest(`Image ${image.slug} needs a disk of at least ${image.min_disk} GB; this VM has ${current.disk} GB (resize it first)`, [{ field: 'image', message: `needs at least ${image.min_disk} GB of disk` }]);
        }
        return { work: () => this.rebuild(current, image.slug) };
      }
      default:
        throw new Error(`${type} is not a maintenance action`);
    }
  }

  /** The resize's target shape: a size, or ram/cpu/disk with the VM's own for what is not given. */
  private targetShape(row: VmRow, req: VmActionRequest): Shape {
    const to = resolveShape(req, { ram: row.ram, cpu: row.cpu, disk: row.disk });
    if (!to) throw badRequest('Give a size, or ram, cpu and/or disk, to resize to', [{ field: 'size', message: 'or ram/cpu/disk is required' }]);
    if (to.disk < row.disk) {
      throw badRequest(`A disk cannot shrink: this VM has ${row.disk} GB, so the new size needs at least ${row.disk} GB`, [{ field: 'disk', message: `must be at least ${row.disk} GB (disks only grow)` }]);
    }
    if (to.ram === row.ram && to.cpu === row.cpu && to.disk === row.disk) {
      throw badRequest(`VM ${row.name} already has ${row.ram} MB RAM, ${row.cpu} vCPU and ${row.disk} GB of disk: nothing to change`, [{ field: req.size ? 'size' : 'ram', message: 'is the current shape' }]);
    }
    return to;
  }

  /** The user's quota, the host's RAM and vCPUs, and the data dir's room for the disk's growth. */
  private async admitResize(row: VmRow, to: Shape): Promise<void> {
    const user = (await this.d.users.findById(row.user_id))!;
    const limits = effectiveLimits(user, this.d.defaultLimits());
    // What the user's other VMs use (with their resizes under way), plus the new shape.
    const others = (await this.d.vms.listLive(row.user_id)).filter((vm) => vm.id !== row.id);
    const pending = this.pendingGrowth(row.user_id);
    const sum = (f: (vm: VmRow) => number, extra: number) => others.reduce((n, vm) => n + f(vm), extra);
    const ram = sum((vm) => vm.ram, pending.ram);
    const cpu = sum((vm) => vm.cpu, pending.cpu);
    const disk = sum((vm) => vm.disk, pending.disk);
    if (ram + to.ram > limits.maxRamMb) throw quotaExceeded(`at most ${limits.maxRamMb} MB of RAM in total (${ram} MB in use by your other VMs)`);
    if (cpu + to.cpu > limits.maxVcpus) throw quotaExceeded(`at most ${limits.maxVcpus} vCPUs in total (${cpu} in use by your other VMs)`);
    if (disk + to.disk > limits.maxDiskGb) throw quotaExceeded(`at most ${limits.maxDiskGb} GB of disk in total (${disk} GB in use by your other VMs)`);
    if (row.host_id !== null) {
      const host = await this.d.hosts.get(row.host_id);
      const ram = host.usage.ram_mb - row.ram + to.ram;
      const cpu = host.usage.vcpus - row.cpu + to.cpu;
      if (ram > host.ram_mb || cpu > host.vcpus) {
        throw new AppError(409, 'no_capacity', `Host ${host.name} has no room for ${to.ram} MB RAM and ${to.cpu} vCPU: ${host.ram_mb - host.usage.ram_mb + row.ram} MB and ${host.vcpus - host.usage.vcpus + row.cpu} vCPU are free for this VM`);
      }
    }
    if (row.driver === 'qemu' && to.disk > row.disk) {
      const growth = to.disk - row.disk;
      await ensureHostStorage(this.d, row.user_id, growth, { event: `Growing VM ${row.name}'s disk by ${growth} GB`, user: `${growth} GB more of disk` });
    }
  }

  // --- the work (in the background, the VM locked) -------------------------------------

  private step(row: VmRow, line: string): void {
    this.d.ops.step(row, line);
  }

  /** The VM keeps its status: the driver leaves it as it found it. */
  private async snapshot(row: VmRow, snap: SnapshotRow): Promise<void> {
    await this.d.snapshots.runSnapshot(row, snap, (line) => this.step(row, line));
  }

  /**
   * A disk snapshot powers the VM off (forced: its disk is replaced) and leaves it stopped; a
   * snapshot with RAM leaves it running where the snapshot was taken. The VM's status follows
   * what the driver says it did.
   */
  private async restore(row: VmRow, snap: SnapshotRow): Promise<void> {
    const { ops } = this.d;
    // A running VM is powered off first (or replaced by the saved one): stopping until the driver says.
    if (row.status === 'running' || row.status === 'paused') await ops.setStatus(row.id, 'stopping');
    const { running } = await this.d.snapshots.runRestore(row, snap, (line) => this.step(row, line));
    // The disk's host keys are the snapshot's: the terminal pins them anew.
    await this.d.consoleKeys.unpinHostKey(row.id);
    if (running) {
      const driver = await this.d.drivers.forVm(row);
      const inspected = await driver.inspect(instanceId(row.id));
      if (inspected.state !== 'running') throw new Error('the VM is not running after its restore');
      const updated = await ops.markRunning(row, inspected);
      this.step(row, `Running from snapshot ${snap.name}${updated.ssh_port ? `; SSH on port ${updated.ssh_port}` : ''}`);
    } else {
      await ops.setStatus(row.id, 'stopped', { booted_at: null, status_reason: null, error: null });
      this.step(row, `Stopped with the disk of snapshot ${snap.name}: start the VM to boot it`);
    }
  }

  /** New RAM, vCPUs and a larger disk; the guest sees them (and grows /data) at its next boot. */
  private async resize(row: VmRow, to: Shape): Promise<void> {
    const driver = await this.d.drivers.forVm(row);
    if (!canResize(driver)) throw new Error(`the ${driver.info().name} driver cannot resize VMs`);
    this.step(row, `Resizing from ${row.ram} MB RAM, ${row.cpu} vCPU, ${row.disk} GB disk to ${to.ram} MB RAM, ${to.cpu} vCPU, ${to.disk} GB disk`);
    await driver.resize(instanceId(row.id), { memoryMb: to.ram, vcpus: to.cpu, diskGb: to.disk });
    const price = hourlyPrice(to.ram, to.cpu);
    // Metering charges each hour when it begins, at the price it reads then: the hour under way
    // is paid at the old price, every later one at this one.
    await this.d.ops.setStatus(row.id, 'stopped', { ram: to.ram, cpu: to.cpu, disk: to.disk, size: to.size, price_hourly: price });
    if (to.disk > row.disk) this.step(row, `Disk grown to ${to.disk} GB: the guest grows its data filesystem at its next boot`);
    this.step(row, `Resized; priced at ${price} credits/hour from the next hour (was ${row.price_hourly})`);
  }

  /** A fresh disk from the image; same id, name, SSH port and keys. The VM stays stopped. */
  private async rebuild(row: VmRow, slug: string): Promise<void> {
    const driver = await this.d.drivers.forVm(row);
    if (!canRebuild(driver)) throw new Error(`the ${driver.info().name} driver cannot rebuild VMs`);
    const image = await this.d.images.resolve({ image: slug });
    const consoleKey = await this.d.consoleKeys.ensure(row.id, row.name);
    const rebuilt: VmRow = { ...row, image: image.slug, os_type: image.os_type, ssh_user: image.ssh_user };
    this.step(row, `Rebuilding from image ${image.slug}: the ${row.disk} GB disk and all data on it are wiped`);
    await driver.rebuild(instanceSpecOf(rebuilt, this.d.images.bootSource(image), consoleKey, { status: 'stopped', fromSnapshot: false }));
    // New disk, new host keys: the terminal pins them on its next connection.
    await this.d.consoleKeys.unpinHostKey(row.id);
    await this.d.ops.setStatus(row.id, 'stopped', { image: image.slug, os_type: image.os_type, ssh_user: image.ssh_user, booted_at: null, status_reason: null, error: null });
    this.step(row, `Rebuilt from ${image.slug}: a fresh ${row.disk} GB disk; same SSH port and keys; start the VM to boot it`);
  }
}
