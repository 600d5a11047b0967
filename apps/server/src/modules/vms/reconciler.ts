import type { FastifyBaseLogger } from 'fastify';
import type { VmStatus } from '@twarga/contract';
import { canRotateConsoleLog, instanceId, type ComputeDriver, type InstanceInspection } from '../../compute/driver.js';
import type { ComputeRegistry } from '../../compute/registry.js';

import { Periodic } from '../../lib/periodic.js';
import type { Clock } from '../../lib/time.js';
import type { ActionsRepository } from '../../operations/actions.repository.js';
import type { EventLog } from '../events/event-log.js';
import type { ActionTakeover } from './action-takeover.js';
import { addresses, type VmOperations } from './vm-operations.js';
import type { VmRow, VmsRepository } from './vms.repository.js';

/** Serial console log kept per VM before rotation (plus one previous generation). */
const CONSOLE_LOG_MAX_BYTES = 1024 * 1024;
/** Statuses an action passes through: after a crash, nothing would ever move a VM out of them. */
const TRANSITIONAL: VmStatus[] = ['pending', 'provisioning', 'stopping', 'rebooting', 'destroying'];
/**
 * A lock older than this that no live action holds is a leftover (its action's last write failed,
 * e.g. on a full disk). Between taking a lock and starting its action a request needs
 * milliseconds, so a fresh lock is never taken for a leftover.
 */
export const STALE_LOCK_MS = 30_000;

/**
 * Compares the database with what the hypervisor really runs, at start-up and every few seconds:
 * takes over actions whose server process died, re-adopts VMs that kept running while the server
 * was down, marks VMs whose process died or whose guest the hypervisor paused, settles VMs a crash
 * left in a transitional status, releases locks no action holds, removes leftovers of destroyed
 * VMs, and records each drift as an event. On PostgreSQL one process (the leader) runs it.
 */
export class Reconciler {
  private readonly periodic: Periodic;

  /** The periodic pass, for the admin's system health (when it last ran). */
  get job(): Periodic {
    return this.periodic;
  }

  constructor(
    private readonly d: {
      vms: VmsRepository;
      actions: ActionsRepository;
      drivers: ComputeRegistry;
      ops: VmOperations;
      takeover: ActionTakeover;
      events: EventLog;
      clock: Clock;
      log: FastifyBaseLogger;
      /** The only server process on its database (SQLite): at start-up, nothing else runs an action. */
      soleProcess: boolean;
    },
  ) {
    this.periodic = new Periodic('reconcile', () => this.reconcile(), d.log);
  }

  /**
   * First pass after a (re)start. The only process (SQLite) carries on every open action at once.
   * Among several (PostgreSQL), others may be running theirs: the leader's passes take over only
   * those whose lease ran out.
   */
  async recoverAfterRestart(): Promise<void> {
    if (!this.d.soleProcess) return this.periodic.runWhenLeading();
    await this.d.vms.unlockAll();
    const carried = await this.d.takeover.run({ everyone: true });
    if (carried) this.d.log.warn({ carried }, 'actions interrupted by the restart are carried on');
    await this.pass();
  }

  start(intervalMs: number): void {
    this.periodic.start(intervalMs);
  }

  stop(): void {
    this.periodic.stop();
  }

  pass(): Promise<void> {
    return this.periodic.run();
  }

  private async reconcile(): Promise<void> {
    await this.d.takeover.run();
    const live = await this.d.vms.listLive();
    for (const row of live) {
      // One VM whose host or row cannot be read must not stop the pass for the others.
      await this.reconcileVm(row).catch((err: unknown) => this.d.log.warn({ err, vm: row.id }, 'reconciling a VM failed'));
    }
    const liveIds = new Set(live.map((r) => instanceId(r.id)));
    for (const { host, driver } of await this.d.drivers.inUse()) {
      // One unreachable host must not stop the sweep of the others.
      await this.removeOrphans(host.name, driver, liveIds).catch((err: Error) => this.d.log.warn({ host: host.name, err: err.message }, 'orphan sweep failed'));
    }
  }

  private async reconcileVm(listed: VmRow): Promise<void> {
    let row = listed;
    if (row.locked === 1) {
      if (this.d.clock.now().getTime() - Date.parse(row.updated_at) < STALE_LOCK_MS || (await this.d.actions.hasLiveAction(row.id))) return;
      row = await this.releaseStaleLock(row);
    }
    const host = await this.d.drivers.hostOf(row);
    if (!host || host.enabled !== 1 || !this.d.drivers.supports(host.driver)) return; // out of service, or no driver here
    const driver = this.d.drivers.forHost(host);
    const state = await driver.inspect(instanceId(row.id));
    if (state.state === 'running' && canRotateConsoleLog(driver)) {
      await driver.rotateConsoleLog(instanceId(row.id), CONSOLE_LOG_MAX_BYTES);
    }
    if (TRANSITIONAL.includes(row.status as VmStatus)) return this.recoverInterrupted(row, state);
    const fresh = await this.d.vms.find(row.id);
    if (!fresh || fresh.locked === 1 || fresh.status !== row.status) return; // an action started meanwhile
    const { ops, events } = this.d;
    const up = row.status === 'running' || row.status === 'paused';
    if (up && state.state !== 'running') {
      const status = state.state === 'missing' ? 'error' : 'stopped';
      await ops.setStatus(row.id, status, { booted_at: null, status_reason: null, error: state.state === 'missing' ? 'VM files are missing' : null });
      await events.record({ type: 'vm', severity: 'warning', action: 'vm.died', message: `VM ${row.name}: its process is gone; marked ${status}`, userId: row.user_id, vmId: row.id });
    } else if (!up && state.state === 'running') {
      // Its process runs though the database says otherwise (e.g. started before a crash): adopt it.
      await ops.markRunning(row, state);
      await events.record({ type: 'vm', action: 'vm.adopted', message: `VM ${row.name} is running (re-adopted, was ${row.status})`, userId: row.user_id, vmId: row.id });
    } else if (up && state.state === 'running') {
      const paused = state.paused?.reason ?? null;
      if ((row.status === 'paused') !== (paused !== null) || (paused !== null && paused !== row.status_reason)) {
        await ops.setStatus(row.id, paused ? 'paused' : 'running', { status_reason: paused });
        await events.record(
          paused
            ? { type: 'vm', severity: 'warning', action: 'vm.paused', message: `VM ${row.name}: its hypervisor paused the guest (${paused})`, userId: row.user_id, vmId: row.id, details: { reason: paused } }
            : { type: 'vm', action: 'vm.resumed', message: `VM ${row.name}: the guest runs again`, userId: row.user_id, vmId: row.id },
        );
      }
      // A DHCP lease (libvirt, vagrant) often arrives after the start action has finished.
      const seen = addresses(state);
      if (seen.guest_ssh_host !== row.guest_ssh_host || seen.guest_ssh_port !== row.guest_ssh_port || seen.ip_address !== row.ip_address) await ops.setStatus(row.id, paused ? 'paused' : 'running', seen);
      // A running VM always has a paid-up mark (a crash between its start and its billing left none).
      if (!row.billed_until) await ops.markRunning(row, state);
    }
  }

  /** A lock no live action holds: its action ended in a crash or could not write its end. */
  private async releaseStaleLock(row: VmRow): Promise<VmRow> {
    const now = this.d.clock.now().toISOString();
    await this.d.actions.failOpenForVm(row.id, now, 'interrupted: the action ended without recording its outcome');
    await this.d.vms.unlock(row.id, now);
    this.d.log.warn({ vm: row.id, status: row.status }, 'released a VM lock that no action held');
    await this.d.events.record({ type: 'vm', severity: 'warning', action: 'vm.lock_released', message: `VM ${row.name}: released a lock no action held (status ${row.status})`, userId: row.user_id, vmId: row.id });
    return { ...row, locked: 0, updated_at: now };
  }

  /**
   * A VM left in a transitional status by a crash (no action holds its lock any more) is brought
   * to what the hypervisor really has, or its action is finished:
   * - destroying: the destroy is run again (it is idempotent) to its end: files, port and billing.
   * - pending/provisioning: a QEMU that runs is adopted as running, billed from its real start;
   *   otherwise the create is run again (create is idempotent: an existing disk is kept). Running
   *   it again rather than marking error: the user asked for a VM, was told it is being made, and
   *   everything needed is in the row; a create that fails again ends in error with its first
   *   hour refunded, as any failed create.
   * - stopping/rebooting: running (or paused) or stopped, as the hypervisor says; error if its
   *   files are gone.
   */
  private async recoverInterrupted(row: VmRow, state: InstanceInspection): Promise<void> {
    const { vms, actions, ops, events, clock } = this.d;
    const now = clock.now().toISOString();
    if (!(await vms.tryLock(row.id, now))) return; // a user action got there first
    const fresh = await vms.find(row.id);
    const release = () => vms.unlock(row.id, clock.now().toISOString());
    if (!fresh || fresh.status !== row.status) return release();
    const recorded = (message: string, severity?: 'warning') => events.record({ type: 'vm', severity, action: 'vm.recovered', message: `VM ${row.name}: ${message}`, userId: row.user_id, vmId: row.id, details: { was: row.status } });
    try {
      const resume = async (type: 'create' | 'destroy') => {
        const action = await actions.insert({ vmId: row.id, userId: row.user_id, type, now });
        await recorded(`its interrupted ${type} is run again (was ${row.status})`);
        ops.dispatch(fresh, action, () => ops.resume(fresh, type));
      };
      if (row.status === 'destroying') return await resume('destroy');
      if (row.status === 'pending' || row.status === 'provisioning') {
        if (state.state !== 'running') return await resume('create');
        await ops.markRunning(fresh, state, { locked: 0 });
        return await recorded(`its QEMU was running: adopted as running, billed from ${state.startedAt?.toISOString() ?? now}`);
      }
      // stopping, rebooting
      if (state.state === 'running') await ops.markRunning(fresh, state, { locked: 0 });
      else if (state.state === 'stopped') await ops.setStatus(row.id, 'stopped', { booted_at: null, status_reason: null, locked: 0 });
      else await ops.setStatus(row.id, 'error', { booted_at: null, status_reason: null, error: 'VM files are missing', locked: 0 });
      await recorded(`was ${row.status} when the server stopped; its hypervisor says ${state.state}`, state.state === 'missing' ? 'warning' : undefined);
    } catch (err) {
      await release().catch(() => {});
      throw err;
    }
  }

  /** Instances a host has that no live VM owns (of any host: two hosts may share one libvirtd). */
  private async removeOrphans(hostName: string, driver: ComputeDriver, liveIds: Set<string>): Promise<void> {
    for (const id of await driver.list()) {
      if (liveIds.has(id)) continue;
      const vmId = Number(id.slice(3));
      const row = await this.d.vms.find(vmId);
      if (row && !row.destroyed_at) continue; // created after listLive ran
      this.d.log.warn({ instance: id, host: hostName }, 'removing leftovers of a VM that is not live');
      await driver.destroy(id);
      await this.d.events.record({ type: 'vm', severity: 'warning', action: 'vm.orphan_removed', message: `Removed orphaned instance ${id}`, vmId });
    }
  }
}
