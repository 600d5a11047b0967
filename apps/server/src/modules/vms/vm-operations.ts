import type { FastifyBaseLogger } from 'fastify';
import type { Action, ActionType, VmStatus } from '@twarga/contract';
import { canStartInstantly, instanceId, type ComputeDriver, type InstanceInspection, type InstanceSpec } from '../../compute/driver.js';
import type { ComputeRegistry } from '../../compute/registry.js';
import type { Clock } from '../../lib/time.js';
import type { ActionsRepository } from '../../operations/actions.repository.js';
import type { ActionProgress } from '../../operations/action-progress.js';
import type { LiveBus } from '../../operations/live-bus.js';
import type { LedgerService } from '../billing/ledger.service.js';
import type { EventLog } from '../events/event-log.js';
import type { ImagesService } from '../images/images.service.js';
import type { ImagesRepository } from '../images/images.repository.js';
import type { ConsoleKeys } from '../terminal/console-keys.js';
import { publicMessage } from '../../lib/public-message.js';
import { instanceSpecOf } from './instance-spec.js';
import type { SnapshotPort } from './vm-maintenance.js';
import { sshEndpointOf, toVm } from './vm-view.js';
import type { VmRow, VmsRepository } from './vms.repository.js';

export const HOUR_MS = 3_600_000;

export interface VmOperationsDeps {
  ledger: LedgerService;
  vms: VmsRepository;
  actions: ActionsRepository;
  images: ImagesService;
  imagesRepo: ImagesRepository;
  drivers: ComputeRegistry;
  consoleKeys: ConsoleKeys;
  progress: ActionProgress;
  events: EventLog;
  bus: LiveBus;
  clock: Clock;
  log: FastifyBaseLogger;
  sshHost: string;
  stopTimeoutMs: number;
  /** Creations start from a warm snapshot of their image and shape when the driver can (config.instantVms). */
  instantVms: boolean;
  /** Snapshots a VM is made from, and that outlive their VM's destroy. */
  snapshots: SnapshotPort;
}

/**
 * Runs VM actions in the background (the HTTP request has already returned 201/202):
 * status transitions, the driver call, the action's outcome, events and billing.
 * The VM's lock is held by the caller and released here when the action ends.
 */
export class VmOperations {
  private readonly running = new Set<Promise<void>>();
  /** Actions this process works on now: it renews their leases (ActionLeases). */
  private readonly runningActions = new Set<number>();

  constructor(private readonly d: VmOperationsDeps) {}

  private now() {
    return this.d.clock.now().toISOString();
  }

  /** Pushes the VM's new state to its owner's live channel and writes the .vm_info record. */
  async publish(row: VmRow): Promise<void> {
    // A failed tag read leaves the field out: the state change still reaches the owner.
    const tags = (await this.d.vms.tagsOf([row.id]).catch(() => undefined))?.get(row.id);
    const vm = toVm(row, this.d.sshHost, this.d.clock.now(), tags);
    this.d.bus.publish(row.user_id, { kind: 'vm', vm });
    // A VM being created has no instance yet: its record would make the instance's directory
    // (an instant start refuses a directory that exists); the driver's create() writes it.
    if (row.destroyed_at || row.status === 'pending' || row.status === 'provisioning') return;
    const driver = await this.d.drivers.forVm(row).catch(() => undefined);
    await driver
      ?.writeInfo(instanceId(row.id), {
        name: row.name, user_id: row.user_id, os_type: row.os_type, ram: row.ram, cpu: row.cpu, disk: row.disk,
        status: row.status, ip: row.ip_address, ssh_port: row.ssh_port, created_at: row.created_at, uptime: vm.uptime_seconds ?? 0,
      })
      .catch(() => {});
  }

  async setStatus(id: number, status: VmStatus, extra: Partial<VmRow> = {}): Promise<VmRow> {
    const row = await this.d.vms.update(id, { status, updated_at: this.now(), ...extra });
    await this.publish(row);
    return row;
  }

  /** Starts the action's work without waiting for it; tests and shutdown can await idle(). */
  dispatch(row: VmRow, action: Action, work: () => Promise<void>): void {
    this.runningActions.add(action.id);
    // execute() catches what it can; this is the last net: a background action never crashes the server.
    const p = this.execute(row, action, work)
      .catch((err: unknown) => this.d.log.error({ err, vm: row.id, action: action.type }, 'VM action could not be wound up; the reconciler will settle the VM'))
      .finally(() => {
        this.running.delete(p);
        this.runningActions.delete(action.id);
      });
    this.running.add(p);
  }

  /** Ids of the actions this process works on now. */
  runningActionIds(): number[] {
    return [...this.runningActions];
  }

  async idle(): Promise<void> {
    while (this.running.size) await Promise.allSettled([...this.running]);
  }

  /**
   * Runs the work, then winds the action up: outcome, event, unlock. Each wind-up step is guarded
   * on its own (a full disk makes every database write fail): what cannot be written is logged
   * with its cause, and the reconciler later settles a VM left in a transitional state or locked.
   */
  private async execute(row: VmRow, action: Action, work: () => Promise<void>): Promise<void> {
    const { actions, events, bus, vms, progress, log } = this.d;
    const guard = async <T>(what: string, fn: () => Promise<T>): Promise<T | undefined> => {
      try {
        return await fn();
      } catch (err) {
        log.error({ err, vm: row.id, action: action.type, action_id: action.id }, `VM action: ${what} failed`);
        return undefined;
      }
    };
    bus.publish(row.user_id, { kind: 'action', action });
    progress.begin(instanceId(row.id), action);
    let failure: { raw: string; shown: string } | undefined;
    try {
      await work();
    } catch (err) {
      const raw = err instanceof Error ? err.message : String(err);
      // What the owner sees carries no server paths; the full reason goes to the log and the admins' event.
      failure = { raw, shown: publicMessage(raw) };
      log.warn({ err, vm: row.id, action: action.type }, 'VM action failed');
      this.step(row, `Failed: ${failure.shown}`);
      await guard('settling the VM after the failure', () => this.settleAfterFailure(row, action.type, failure!.shown));
    }
    // Every line is stored before the action is seen to end, so its log is whole by then.
    await guard('writing the action log', () => progress.end(instanceId(row.id)));
    const finished = await guard('recording the outcome', async () => ({
      action:
        failure === undefined
          ? await actions.finish(action.id, { status: 'completed', now: this.now() })
          : await actions.finish(action.id, { status: 'errored', error: failure.shown.slice(0, 1000), now: this.now() }),
    }));
    if (finished && !finished.action) {
      // This process stalled past its lease and another one took the action over: its outcome stands.
      log.warn({ vm: row.id, action: action.type, action_id: action.id }, 'another server process took this action over; its outcome stands');
      return;
    }
    const outcome = finished?.action;
    if (failure === undefined) {
      await events.record({ type: 'vm', action: `vm.${action.type}`, message: `VM ${row.name}: ${action.type} completed`, userId: row.user_id, vmId: row.id, details: { action_id: action.id } });
    } else {
      await events.record({ type: 'vm', severity: 'warning', action: `vm.${action.type}_failed`, message: `VM ${row.name}: ${action.type} failed: ${failure.shown.slice(0, 200)}`, userId: row.user_id, vmId: row.id, details: { action_id: action.id, reason: failure.raw.slice(0, 2000) } });
    }
    const unlocked = await guard('releasing the lock', () => vms.update(row.id, { locked: 0, updated_at: this.now() }));
    if (unlocked) await guard('publishing the VM', () => this.publish(unlocked));
    if (outcome) bus.publish(row.user_id, { kind: 'action', action: outcome });
  }

  /** A line in the log of the action running on this VM, for its owner to follow. */
  step(row: VmRow, text: string): void {
    this.d.progress.line(instanceId(row.id), text);
  }

  /**
   * After a failure the VM's status follows what the hypervisor really has: running or stopped,
   * else error (from which its owner can start, stop or destroy it). A failed destroy is error
   * too (its files may be half gone: destroy it again). A failed creation is removed from its
   * host and its first hour refunded, since it never ran (when its host cannot be reached to
   * remove it, the refund waits for its destroy: it may run there).
   */
  private async settleAfterFailure(row: VmRow, type: ActionType, message: string): Promise<void> {
    const id = instanceId(row.id);
    const driver = await this.d.drivers.forVm(row).catch(() => undefined);
    let status: VmStatus = 'error';
    let extra: Partial<VmRow> = {};
    if (type === 'create') {
      const removed = await driver?.destroy(id).then(() => true).catch((err: unknown) => {
        this.d.log.warn({ err, vm: row.id }, 'could not remove a failed creation');
        return false;
      });
      // Not removed (its host unreachable), it may be running there and be adopted once the host is
      // back: its first hour stays paid until then, or until its destroy refunds a VM that never ran.
      if (removed !== false) await this.refundIfNeverRan(row);
    } else {
      const state = await driver?.inspect(id).catch(() => undefined);
      if (state?.state === 'running' && type !== 'destroy') {
        status = state.paused ? 'paused' : 'running';
        extra = { status_reason: state.paused?.reason ?? null, ...(row.booted_at ? {} : { booted_at: (state.startedAt ?? this.d.clock.now()).toISOString() }) };
      } else if (state?.state === 'stopped' && type !== 'destroy') {
        status = 'stopped';
        extra = { booted_at: null, status_reason: null };
      }
    }
    await this.setStatus(row.id, status, { error: message.slice(0, 1000), ...extra });
  }

  /**
   * Marks the VM running and starts its billing clock if it was not running yet: the first hour
   * (charged when the launch was admitted) covers the hour from when its process really started
   * (the driver's startedAt), so a creation interrupted by a crash and adopted later is billed
   * from its real start, not from the adoption.
   */
  async markRunning(row: VmRow, inspected: InstanceInspection, extra: Partial<VmRow> = {}): Promise<VmRow> {
    const startedAt = inspected.startedAt ?? this.d.clock.now();
    const patch = {
      status: inspected.paused ? 'paused' : 'running', status_reason: inspected.paused?.reason ?? null, booted_at: startedAt.toISOString(),
      error: null, updated_at: this.now(), ...addresses(inspected), ...extra,
    } satisfies Partial<VmRow>;
    const updated = await this.d.vms.updateStartingBilling(row.id, patch, new Date(startedAt.getTime() + HOUR_MS).toISOString());
    await this.publish(updated);
    return updated;
  }

  /** Gives back the first hour of a VM that never ran; logged, never thrown (the VM's state matters more). */
  private async refundIfNeverRan(row: VmRow): Promise<void> {
    const fresh = await this.d.vms.find(row.id);
    if (!fresh || fresh.billed_until) return;
    const refunded = await this.d.ledger.refundFirstHour(fresh, this.now()).catch((err: unknown) => {
      this.d.log.error({ err, vm: row.id }, 'could not refund the first hour of a VM that never ran');
      return 0;
    });
    if (refunded) this.step(row, `First hour refunded (${refunded} credits): the VM never ran`);
  }

  // --- the actions -------------------------------------------------------------------

  /** An action a crash interrupted, run again from its start (create and destroy are idempotent). */
  async resume(row: VmRow, type: 'create' | 'destroy'): Promise<void> {
    this.step(row, `Running the ${type} again: the server stopped while it ran`);
    await (type === 'create' ? this.provision(row, { resumed: true }) : this.destroy(row));
  }

  async provision(row: VmRow, opts: { resumed?: boolean } = {}): Promise<void> {
    const { images, imagesRepo } = this.d;
    const driver = await this.d.drivers.forVm(row);
    await this.setStatus(row.id, 'provisioning');
    const image = await imagesRepo.find(row.image);
    if (!image) throw new Error(`image ${row.image} disappeared`);
    const id = instanceId(row.id);
    // The server's own key for the browser SSH terminal sits next to the user's keys.
    const consoleKey = await this.d.consoleKeys.ensure(row.id, row.name);
    const spec = instanceSpecOf(row, images.bootSource(image), consoleKey, { status: 'provisioning', fromSnapshot: true });
    const host = await this.d.drivers.hostOf(row);
    const from = row.snapshot_id !== null ? `snapshot #${row.snapshot_id} (image ${image.slug})` : `image ${image.slug}`;
    this.step(row, `Creating the instance on host ${host?.name ?? '?'} (${host?.driver ?? row.driver}): ${row.ram} MB RAM, ${row.cpu} vCPU, ${row.disk} GB disk, ${from}`);
    // A resumed creation may have left files behind: it boots cold (create keeps an existing disk).
    if (!opts.resumed && (await this.startInstantly(row, driver, spec))) return;
    if (row.snapshot_id !== null) await this.d.snapshots.using(row.snapshot_id, () => driver.create(spec));
    else await driver.create(spec);
    this.step(row, 'Starting');
    await driver.start(id);
    const inspected = await driver.inspect(id);
    if (inspected.state !== 'running') throw new Error('the VM process exited right after start');
    // Billing starts once the VM really exists: a failed creation costs nothing.
    this.step(row, runningLine(await this.markRunning(row, inspected, { boot_path: 'cold' }), this.d.sshHost));
  }

  /**
   * The instant path: the driver restores a warm snapshot of the image and shape and applies the
   * VM's identity. True when the VM runs; false (it said why, and left nothing behind) for a cold
   * boot, and the warm snapshot is prepared for the next creation of this shape.
   */
  private async startInstantly(row: VmRow, driver: ComputeDriver, spec: InstanceSpec): Promise<boolean> {
    if (!this.d.instantVms || !canStartInstantly(driver) || spec.fromSnapshot) return false;
    // A restore that throws is one more reason for a cold boot, after removing what it left.
    const outcome = await driver.startInstant(spec).catch(async (err: unknown) => {
      await driver.destroy(spec.id).catch(() => {});
      return { started: false as const, reason: `the warm restore failed (${publicMessage(err instanceof Error ? err.message : String(err))})` };
    });
    if (outcome.started) {
      this.step(row, `Instant start from a warm snapshot (${outcome.restoreMs} ms)`);
      const inspected = await driver.inspect(spec.id);
      if (inspected.state !== 'running') throw new Error('the VM process exited right after its instant start');
      this.step(row, runningLine(await this.markRunning(row, inspected, { boot_path: 'instant' }), this.d.sshHost));
      return true;
    }
    this.step(row, `Cold boot: ${outcome.reason}`);
    await this.d.events.record({ type: 'vm', action: 'vm.instant_fallback', message: `VM ${row.name}: cold boot instead of an instant start (${outcome.reason})`, userId: row.user_id, vmId: row.id, details: { reason: outcome.reason } });
    driver.prepareWarm(spec);
    return false;
  }

  async start(row: VmRow): Promise<void> {
    const driver = await this.d.drivers.forVm(row);
    this.step(row, 'Starting');
    await driver.start(instanceId(row.id));
    const inspected = await driver.inspect(instanceId(row.id));
    if (inspected.state !== 'running') throw new Error('the VM process exited right after start');
    this.step(row, runningLine(await this.markRunning(row, inspected), this.d.sshHost));
  }

  async stop(row: VmRow, force: boolean): Promise<void> {
    await this.setStatus(row.id, 'stopping');
    this.step(row, force ? 'Powering off (forced)' : `Asking the guest to shut down (powered off after ${Math.round(this.d.stopTimeoutMs / 1000)} s)`);
    await (await this.d.drivers.forVm(row)).stop(instanceId(row.id), { force, timeoutMs: this.d.stopTimeoutMs });
    this.step(row, 'Stopped');
    await this.setStatus(row.id, 'stopped', { booted_at: null, status_reason: null });
  }

  async reboot(row: VmRow, force: boolean): Promise<void> {
    await this.setStatus(row.id, 'rebooting');
    this.step(row, force ? 'Resetting (forced)' : 'Rebooting');
    await (await this.d.drivers.forVm(row)).reboot(instanceId(row.id), { force });
    this.step(row, 'Running');
    await this.setStatus(row.id, 'running', { booted_at: this.now(), error: null, status_reason: null });
  }

  async destroy(row: VmRow): Promise<void> {
    await this.setStatus(row.id, 'destroying');
    this.step(row, 'Destroying the instance and its disks');
    await (await this.d.drivers.forVm(row)).destroy(instanceId(row.id));
    await this.d.consoleKeys.remove(row.id);
    // Its snapshots are the user's and outlive it (vm_id becomes NULL).
    await this.d.snapshots.detachVm(row.id);
    await this.refundIfNeverRan(row);
    this.step(row, 'Destroyed');
    // The row stays for audit and billing; its name and port are free again.
    await this.setStatus(row.id, 'destroyed', { destroyed_at: this.now(), ssh_port: null, booted_at: null, ip_address: null, guest_ssh_host: null, guest_ssh_port: null, status_reason: null });
  }
}

function runningLine(row: VmRow, sshHost: string): string {
  const ssh = sshEndpointOf(row, sshHost);
  return ssh.port ? `Running; SSH on ${ssh.host}:${ssh.port}` : 'Running; its address comes with its DHCP lease';
}

/** What the driver says about the guest's addresses (a lease may come a few seconds after boot). */
export function addresses(inspected: InstanceInspection): Pick<VmRow, 'ip_address' | 'guest_ssh_host' | 'guest_ssh_port'> {
  return { ip_address: inspected.privateIp ?? null, guest_ssh_host: inspected.sshEndpoint?.host ?? null, guest_ssh_port: inspected.sshEndpoint?.port ?? null };
}
