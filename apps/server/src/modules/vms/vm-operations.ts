import type { FastifyBaseLogger } from 'fastify';
import type { Action, ActionType, VmStatus } from '@twarga/contract';
import type { InstanceInspection, InstanceSpec } from '../../compute/driver.js';
import type { ComputeRegistry } from '../../compute/registry.js';
import { seedFiles } from '../../cloudinit/seed-iso.js';
import type { Clock } from '../../lib/time.js';
import type { ActionsRepository } from '../../operations/actions.repository.js';
import type { ActionProgress } from '../../operations/action-progress.js';
import type { EventBus } from '../../operations/event-bus.js';
import type { LedgerService } from '../billing/ledger.service.js';
import type { EventsService } from '../events/events.service.js';
import type { ImagesService } from '../images/images.service.js';
import type { ImagesRepository } from '../images/images.repository.js';
import type { ConsoleKeys } from '../terminal/console-keys.js';
import { sshEndpointOf, toVm } from './vm-view.js';
import type { VmRow, VmsRepository } from './vms.repository.js';

export const instanceId = (vmId: number) => `vm-${vmId}`;
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
  events: EventsService;
  bus: EventBus;
  clock: Clock;
  log: FastifyBaseLogger;
  sshHost: string;
  stopTimeoutMs: number;
}

/**
 * Runs VM actions in the background (the HTTP request has already returned 201/202):
 * status transitions, the driver call, the action's outcome, events and billing.
 * The VM's lock is held by the caller and released here when the action ends.
 */
export class VmOperations {
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly d: VmOperationsDeps) {}

  private now() {
    return this.d.clock.now().toISOString();
  }

  /** Pushes the VM's new state to its owner's live channel and writes the .vm_info record. */
  async publish(row: VmRow): Promise<void> {
    const vm = toVm(row, this.d.sshHost, this.d.clock.now());
    this.d.bus.publish(row.user_id, { kind: 'vm', vm });
    if (row.destroyed_at) return;
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
    const p = this.execute(row, action, work).finally(() => this.running.delete(p));
    this.running.add(p);
  }

  async idle(): Promise<void> {
    while (this.running.size) await Promise.allSettled([...this.running]);
  }

  private async execute(row: VmRow, action: Action, work: () => Promise<void>): Promise<void> {
    const { actions, events, bus, vms, progress } = this.d;
    bus.publish(row.user_id, { kind: 'action', action });
    progress.begin(instanceId(row.id), action);
    let failure: string | undefined;
    try {
      await work();
    } catch (err) {
      failure = err instanceof Error ? err.message : String(err);
      this.d.log.warn({ err, vm: row.id, action: action.type }, 'VM action failed');
      this.step(row, `Failed: ${failure}`);
      await this.settleAfterFailure(row, action.type, failure);
    }
    // Every line is stored before the action is seen to end, so its log is whole by then.
    await progress.end(instanceId(row.id));
    let outcome: Action;
    if (failure === undefined) {
      outcome = await actions.finish(action.id, { status: 'completed', now: this.now() });
      await events.record({ type: 'vm', action: `vm.${action.type}`, message: `VM ${row.name}: ${action.type} completed`, userId: row.user_id, vmId: row.id, details: { action_id: action.id } });
    } else {
      outcome = await actions.finish(action.id, { status: 'errored', error: failure.slice(0, 1000), now: this.now() });
      await events.record({ type: 'vm', severity: 'warning', action: `vm.${action.type}_failed`, message: `VM ${row.name}: ${action.type} failed: ${failure.slice(0, 200)}`, userId: row.user_id, vmId: row.id, details: { action_id: action.id } });
    }
    const unlocked = await vms.update(row.id, { locked: 0, updated_at: this.now() });
    await this.publish(unlocked);
    bus.publish(row.user_id, { kind: 'action', action: outcome });
  }

  /** A line in the log of the action running on this VM, for its owner to follow. */
  private step(row: VmRow, text: string): void {
    this.d.progress.line(instanceId(row.id), text);
  }

  /** After a failure the VM's status follows what the hypervisor really has. */
  private async settleAfterFailure(row: VmRow, type: ActionType, message: string): Promise<void> {
    const id = instanceId(row.id);
    const driver = await this.d.drivers.forVm(row).catch(() => undefined);
    let status: VmStatus = 'error';
    if (type === 'create') await driver?.destroy(id).catch(() => {});
    else {
      const state = (await driver?.inspect(id).catch(() => undefined))?.state;
      status = state === 'running' ? 'running' : state === 'stopped' ? 'stopped' : 'error';
    }
    await this.d.vms.update(row.id, { status, error: message.slice(0, 1000), updated_at: this.now() });
  }

  // --- the actions -------------------------------------------------------------------

  async provision(row: VmRow): Promise<void> {
    const { images, imagesRepo } = this.d;
    const driver = await this.d.drivers.forVm(row);
    await this.setStatus(row.id, 'provisioning');
    const image = await imagesRepo.find(row.image);
    if (!image) throw new Error(`image ${row.image} disappeared`);
    const id = instanceId(row.id);
    // The server's own key for the browser SSH terminal sits next to the user's keys.
    const consoleKey = await this.d.consoleKeys.ensure(row.id, row.name);
    const spec: InstanceSpec = {
      id,
      hostname: row.name,
      memoryMb: row.ram,
      vcpus: row.cpu,
      diskGb: row.disk,
      sshPort: row.ssh_port!,
      boot: images.bootSource(image),
      seed: seedFiles({ instanceId: id, hostname: row.name, sshAuthorizedKeys: [...(JSON.parse(row.ssh_keys) as string[]), consoleKey], userData: row.user_data ?? undefined }),
      info: { name: row.name, user_id: row.user_id, os_type: row.os_type, ram: row.ram, cpu: row.cpu, disk: row.disk, status: 'provisioning', ip: null, created_at: row.created_at, uptime: 0 },
    };
    const host = await this.d.drivers.hostOf(row);
    this.step(row, `Creating the instance on host ${host?.name ?? '?'} (${host?.driver ?? row.driver}): ${row.ram} MB RAM, ${row.cpu} vCPU, ${row.disk} GB disk, image ${image.slug}`);
    await driver.create(spec);
    this.step(row, 'Starting');
    await driver.start(id);
    const inspected = await driver.inspect(id);
    if (inspected.state !== 'running') throw new Error('the VM process exited right after start');
    // Billing starts once the VM really exists: a failed creation costs nothing.
    await this.d.ledger.apply({ userId: row.user_id, amount: -row.price_hourly, reason: `VM ${row.name} (#${row.id}): first hour`, actorId: null, now: this.now() }, { allowNegative: true });
    const billedUntil = new Date(this.d.clock.now().getTime() + HOUR_MS).toISOString();
    this.step(row, runningLine(await this.setStatus(row.id, 'running', { booted_at: this.now(), billed_until: billedUntil, error: null, ...addresses(inspected) }), this.d.sshHost));
  }

  async start(row: VmRow): Promise<void> {
    const driver = await this.d.drivers.forVm(row);
    this.step(row, 'Starting');
    await driver.start(instanceId(row.id));
    const inspected = await driver.inspect(instanceId(row.id));
    if (inspected.state !== 'running') throw new Error('the VM process exited right after start');
    this.step(row, runningLine(await this.setStatus(row.id, 'running', { booted_at: this.now(), error: null, ...addresses(inspected) }), this.d.sshHost));
  }

  async stop(row: VmRow, force: boolean): Promise<void> {
    await this.setStatus(row.id, 'stopping');
    this.step(row, force ? 'Powering off (forced)' : `Asking the guest to shut down (powered off after ${Math.round(this.d.stopTimeoutMs / 1000)} s)`);
    await (await this.d.drivers.forVm(row)).stop(instanceId(row.id), { force, timeoutMs: this.d.stopTimeoutMs });
    this.step(row, 'Stopped');
    await this.setStatus(row.id, 'stopped', { booted_at: null });
  }

  async reboot(row: VmRow, force: boolean): Promise<void> {
    await this.setStatus(row.id, 'rebooting');
    this.step(row, force ? 'Resetting (forced)' : 'Rebooting');
    await (await this.d.drivers.forVm(row)).reboot(instanceId(row.id), { force });
    this.step(row, 'Running');
    await this.setStatus(row.id, 'running', { booted_at: this.now(), error: null });
  }

  async destroy(row: VmRow): Promise<void> {
    await this.setStatus(row.id, 'destroying');
    this.step(row, 'Destroying the instance and its disks');
    await (await this.d.drivers.forVm(row)).destroy(instanceId(row.id));
    await this.d.consoleKeys.remove(row.id);
    this.step(row, 'Destroyed');
    // The row stays for audit and billing; its name and port are free again.
    await this.setStatus(row.id, 'destroyed', { destroyed_at: this.now(), ssh_port: null, booted_at: null, ip_address: null, guest_ssh_host: null, guest_ssh_port: null });
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
