import type { CreateVmRequest } from '@twarga/contract';
import { USER_DATA_MAX_BYTES } from '@twarga/contract';
import { pickFreePort } from '../../compute/ports.js';
import type { Db } from '../../db/database.js';
import { AppError, badRequest, conflict } from '../../http/errors.js';
import type { Clock } from '../../lib/time.js';
import type { ActionsRepository } from '../../operations/actions.repository.js';
import type { EventLog } from '../events/event-log.js';
import { isUniqueViolation } from '../auth/auth.service.js';
import type { LedgerService } from '../billing/ledger.service.js';
import type { HostsService } from '../hosts/hosts.service.js';
import type { ImageRow } from '../images/images.repository.js';
import type { ImagesService } from '../images/images.service.js';
import type { KeysRepository } from '../keys/keys.repository.js';
import { hourlyPrice, SIZES } from '../sizes/sizes.js';
import type { UserRow, UsersRepository } from '../users/users.repository.js';
import { ensureHostStorage } from './host-storage.js';
import { assertFits, effectiveLimits, type Limits } from './quota.js';
import { createShape, type Shape } from './shape.js';
import type { SnapshotPort, SnapshotSource } from './vm-maintenance.js';
import type { VmRow, VmsRepository } from './vms.repository.js';

export interface VmPolicy {
  maxVmsPerUser: number;
  maxRamPerUserMb: number;
  maxVcpusPerUser: number;
  sshPortRange: string;
  sshHost: string;
  /** Where a VM's SSH port must be free: QEMU's loopback forward, and the SSH gateway's address when it is on. */
  sshBindAddresses: string[];
  /** Total virtual disk size one user's live VMs may have (0: no disk at all). */
  maxDiskGbPerUser: number;
  /** Space the data dir's filesystem keeps free after every VM disk there could fill up. */
  minFreeDiskMb: number;
  /** The data dir: QEMU hosts keep their VM disks under <dataDir>/vms. */
  dataDir: string;
}

export interface VmAdmissionDeps {
  db: Db;
  vms: VmsRepository;
  actions: ActionsRepository;
  users: UsersRepository;
  ledger: LedgerService;
  keys: KeysRepository;
  images: ImagesService;
  hosts: HostsService;
  events: EventLog;
  clock: Clock;
  policy: VmPolicy;
  snapshots: SnapshotPort;
  /** What resizes under way will add to a user's usage (VmMaintenance). */
  pendingGrowth: (userId: number) => { ram: number; cpu: number; disk: number };
  defaultLimits: () => Limits;
}

/**
 * A launch's rules: what a create request resolves to (plan), then, under the admission lock,
 * the checks against what is in use and the insert that adds to it (admit).
 */
export class VmAdmission {
  constructor(private readonly d: VmAdmissionDeps) {}

  /** What a create request resolves to before anything is reserved: source, image, shape, keys and the host it is pinned to. */
  async plan(userId: number, input: CreateVmRequest) {
    if (input.image && input.os_type) throw badRequest('Give image or os_type, not both', [{ field: 'image', message: 'conflicts with os_type' }]);
    const source = input.snapshot_id === undefined ? undefined : await this.snapshotSource(userId, input);
    const image = await this.d.images.resolve(source ? { image: source.image } : input);
    const spec = source ? snapshotShape(input, source) : createShape(input);
    if (spec.disk < image.min_disk) throw badRequest(`Image ${image.slug} needs a disk of at least ${image.min_disk} GB`, [{ field: 'disk', message: `must be at least ${image.min_disk}` }]);
    if (input.user_data !== undefined && Buffer.byteLength(input.user_data) > USER_DATA_MAX_BYTES) {
      throw badRequest('user_data is larger than 64 KiB', [{ field: 'user_data', message: 'must be at most 64 KiB' }]);
    }
    const sshKeys = await this.resolveKeys(userId, input.ssh_keys ?? []);
    const pinned = await this.regionHost(input.region, source);
    return { source, image, spec, sshKeys, pinned };
  }

  /** The host a `region` names (see HostsService.forRegion); a VM made from a snapshot must name the snapshot's own host. */
  private async regionHost(region: string | undefined, source?: SnapshotSource): Promise<{ id: number; name: string } | undefined> {
    if (region === undefined) return undefined;
    const host = await this.d.hosts.forRegion(region);
    if (source?.hostId != null && source.hostId !== host.id) {
      throw badRequest(`Snapshot #${source.id} is on another host than ${region}: a VM made from it is placed on the snapshot's host`, [{ field: 'region', message: "is not the snapshot's host" }]);
    }
    return { id: host.id, name: host.name };
  }

  /**
   * A VM made from a snapshot: the user's own (another user's is a 404), its image and os_type
   * (the request names neither), and a disk at least as large as the snapshot's.
   */
  private async snapshotSource(userId: number, input: CreateVmRequest): Promise<SnapshotSource> {
    for (const field of ['image', 'os_type'] as const) {
      if (input[field] !== undefined) throw badRequest(`A VM made from a snapshot has the snapshot's ${field}: leave ${field} out`, [{ field, message: 'conflicts with snapshot_id' }]);
    }
    return this.d.snapshots.forNewVm(userId, input.snapshot_id!);
  }

  /** The checks against what is in use, and the insert that adds to it (under the admission lock). */
  async admit(userId: number, input: CreateVmRequest, image: ImageRow, spec: Shape, sshKeys: string[], source?: SnapshotSource, pinned?: { id: number; name: string }) {
    const { vms, users } = this.d;
    const user = (await users.findById(userId))!;
    assertNotSuspended(user);
    if (await vms.nameTaken(userId, input.name)) throw duplicateName(input.name);
    await this.assertRoom(user, spec, 1);
    const price = hourlyPrice(spec.ram, spec.cpu);

    // A snapshot's files are on its host: a VM made from it is placed there; a region names the host.
    const host = await this.d.hosts.place({ ramMb: spec.ram, vcpus: spec.cpu }, source?.hostId ?? pinned?.id).catch((err: unknown) => {
      if (pinned && source?.hostId == null && err instanceof AppError && err.code === 'no_capacity') {
        throw new AppError(503, 'no_capacity', `Host ${pinned.name} has no room for ${spec.ram} MB and ${spec.cpu} vCPU right now`);
      }
      throw err;
    });
    if (host.driver === 'qemu') await ensureHostStorage({ ...this.d, ...this.d.policy }, userId, spec.disk, { event: `A ${spec.disk} GB disk`, user: `a ${spec.disk} GB disk` });
    const now = this.d.clock.now().toISOString();
    return this.insertWithPort(host.driver === 'qemu', {
      user_id: userId, name: input.name, status: 'pending', os_type: image.os_type, image: image.slug, size: spec.size,
      ram: spec.ram, cpu: spec.cpu, disk: spec.disk, price_hourly: price, driver: host.driver, host_id: host.id, guest_ssh_host: null, guest_ssh_port: null, ip_address: null, ssh_port: null,
      ssh_user: image.ssh_user, ssh_keys: JSON.stringify(sshKeys), user_data: input.user_data ?? null, locked: 1, error: null, status_reason: null,
      booted_at: null, destroyed_at: null, billed_until: null, created_at: now, updated_at: now,
      health: null, health_since: null, health_boot: null, health_source: null, watchdog_reset: input.watchdog_reset ? 1 : 0, watchdog_reset_at: null,
      snapshot_id: source?.id ?? null, boot_path: null,
    }, input.tags ?? []);
  }

  /**
   * The quota and balance checks for `count` more VMs of this shape (a launch: 1; DO's `names`:
   * all of them at once), against what the user's live VMs and resizes under way use.
   */
  async assertRoom(user: UserRow, spec: Shape, count: number): Promise<void> {
    // Resizes under way count at their new shape (their rows change when they finish).
    const growing = this.d.pendingGrowth(user.id);
    const stored = await this.d.vms.usage(user.id);
    const disk = (await this.d.vms.listLive(user.id)).reduce((sum, vm) => sum + vm.disk, growing.disk);
    const usage = { count: stored.count, ram: stored.ram + growing.ram, cpu: stored.cpu + growing.cpu, disk };
    // An admin's per-user overrides where set, else the server-wide limits.
    assertFits(effectiveLimits(user, this.d.defaultLimits()), usage, spec, count);
    // An early, friendly answer; the charge in the insert's transaction is what guarantees it.
    const price = hourlyPrice(spec.ram, spec.cpu);
    const balance = Number(user.credits);
    if (balance < count * price) {
      const what = count === 1 ? `This VM costs ${price}` : `These ${count} VMs cost ${count * price}`;
      throw new AppError(402, 'insufficient_credits', `${what} credits per hour and your balance is ${balance}`);
    }
  }

  private async resolveKeys(userId: number, refs: (number | string)[]): Promise<string[]> {
    const mine = await this.d.keys.listForUser(userId);
    const chosen = refs.map((ref) => {
      const key = mine.find((k) => (typeof ref === 'number' ? k.id === ref : k.fingerprint === ref || k.fingerprint_md5 === ref));
      if (!key) throw badRequest(`SSH key ${ref} is not one of your keys`, [{ field: 'ssh_keys', message: `${ref} is not one of your keys` }]);
      return key.public_key;
    });
    return [...new Set(chosen)];
  }

  /**
   * Inserts the VM and its create action, with a free forwarded SSH port when its host forwards
   * one (qemu; libvirt and vagrant guests answer on their own address); retries a lost port race.
   */
  private async insertWithPort(forwardsSsh: boolean, row: Omit<VmRow, 'id'>, tags: readonly string[]) {
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = forwardsSsh ? await pickFreePort(this.d.policy.sshPortRange, this.d.policy.sshBindAddresses, await this.d.vms.usedPorts()) : null;
      if (port === undefined) throw new AppError(503, 'service_unavailable', 'No free SSH port left in the configured range');
      try {
        return await this.d.db.transaction().execute(async (trx) => {
          const inserted = await this.d.vms.insert({ ...row, ssh_port: port }, trx);
          await this.d.vms.addTags(inserted.id, tags, trx);
          // Reserved here, refunded if the VM never runs (LedgerService.refundFirstHour).
          await this.d.ledger.chargeFirstHour(inserted, trx, row.created_at);
          const action = await this.d.actions.insert({ vmId: inserted.id, userId: row.user_id, type: 'create', now: row.created_at }, trx);
          return { row: inserted, action };
        });
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        if (await this.d.vms.nameTaken(row.user_id, row.name)) throw duplicateName(row.name);
      }
    }
    throw new AppError(503, 'service_unavailable', 'Could not reserve an SSH port, try again');
  }
}

/** 402 while the user is suspended for lack of credits (billing): a top-up lifts it. */
export function assertNotSuspended(user: { suspended_at: string | null; credits: number }): void {
  if (user.suspended_at) {
    throw new AppError(402, 'insufficient_credits', `Your VMs were stopped for lack of credits (balance ${Number(user.credits)}): add credits to start VMs again`);
  }
}

export function duplicateName(name: string) {
  return conflict(`You already have a VM named ${name}`, [{ field: 'name', message: 'is already used by one of your VMs' }]);
}

/**
 * A VM made from a snapshot: the request's shape, by default the snapshot's own (its VM's RAM,
 * vCPUs and disk); the disk never smaller than the snapshot's (it starts as a copy of it).
 */
function snapshotShape(input: CreateVmRequest, source: SnapshotSource): Shape {
  const given = input.size !== undefined || input.ram !== undefined || input.cpu !== undefined || input.disk !== undefined;
  const named = SIZES.find((s) => s.memory === source.ram && s.vcpus === source.cpu && s.disk === source.minDisk);
  const shape = given ? createShape(input) : { size: named?.slug ?? null, ram: source.ram, cpu: source.cpu, disk: source.minDisk };
  if (shape.disk < source.minDisk) {
    throw badRequest(`Snapshot #${source.id} holds a ${source.minDisk} GB disk: the new VM needs at least ${source.minDisk} GB`, [{ field: 'disk', message: `must be at least ${source.minDisk} GB (the snapshot's disk)` }]);
  }
  return shape;
}
