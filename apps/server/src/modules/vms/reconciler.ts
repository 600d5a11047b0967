import type { FastifyBaseLogger } from 'fastify';
import { canRotateConsoleLog, type ComputeDriver } from '../../compute/driver.js';
import type { ComputeRegistry } from '../../compute/registry.js';

/** Serial console log kept per VM before rotation (plus one previous generation). */
const CONSOLE_LOG_MAX_BYTES = 1024 * 1024;
import { Periodic } from '../../lib/periodic.js';
import type { Clock } from '../../lib/time.js';
import type { ActionsRepository } from '../../operations/actions.repository.js';
import type { EventsService } from '../events/events.service.js';
import { addresses, instanceId, type VmOperations } from './vm-operations.js';
import type { VmsRepository } from './vms.repository.js';

/**
 * Compares the database with what the hypervisor really runs, at start-up and every few seconds:
 * re-adopts VMs that kept running while the server was down, marks VMs whose process died,
 * removes leftovers of destroyed VMs, and records each drift as an event.
 */
export class Reconciler {
  private readonly periodic: Periodic;

  constructor(
    private readonly d: {
      vms: VmsRepository;
      actions: ActionsRepository;
      drivers: ComputeRegistry;
      ops: VmOperations;
      events: EventsService;
      clock: Clock;
      log: FastifyBaseLogger;
    },
  ) {
    this.periodic = new Periodic('reconcile', () => this.reconcile(), d.log);
  }

  /** First pass after a (re)start: actions that were running cannot finish any more. */
  async recoverAfterRestart(): Promise<void> {
    const interrupted = await this.d.actions.failInterrupted(this.d.clock.now().toISOString());
    if (interrupted) this.d.log.warn({ interrupted }, 'actions interrupted by the restart marked errored');
    await this.d.vms.unlockAll();
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
    const live = await this.d.vms.listLive();
    for (const row of live) {
      if (row.locked === 1 || ['pending', 'provisioning', 'destroying'].includes(row.status)) continue;
      const host = await this.d.drivers.hostOf(row);
      if (!host || host.enabled !== 1 || !this.d.drivers.supports(host.driver)) continue; // out of service, or no driver here
      const driver = this.d.drivers.forHost(host);
      const state = await driver.inspect(instanceId(row.id));
      if (state.state === 'running' && canRotateConsoleLog(driver)) {
        await driver.rotateConsoleLog(instanceId(row.id), CONSOLE_LOG_MAX_BYTES);
      }
      const fresh = await this.d.vms.find(row.id);
      if (!fresh || fresh.locked === 1 || fresh.status !== row.status) continue; // an action started meanwhile
      if (row.status === 'running' && state.state !== 'running') {
        const status = state.state === 'missing' ? 'error' : 'stopped';
        await this.d.ops.setStatus(row.id, status, { booted_at: null, error: state.state === 'missing' ? 'VM files are missing' : null });
        await this.d.events.record({ type: 'vm', severity: 'warning', action: 'vm.died', message: `VM ${row.name}: its process is gone; marked ${status}`, userId: row.user_id, vmId: row.id });
      } else if (row.status !== 'running' && state.state === 'running') {
        await this.d.ops.setStatus(row.id, 'running', { booted_at: (state.startedAt ?? this.d.clock.now()).toISOString(), error: null, ...addresses(state) });
        await this.d.events.record({ type: 'vm', action: 'vm.adopted', message: `VM ${row.name} is running (re-adopted, was ${row.status})`, userId: row.user_id, vmId: row.id });
      } else if (row.status === 'running' && state.state === 'running') {
        // A DHCP lease (libvirt, vagrant) often arrives after the start action has finished.
        const seen = addresses(state);
        if (seen.guest_ssh_host !== row.guest_ssh_host || seen.guest_ssh_port !== row.guest_ssh_port || seen.ip_address !== row.ip_address) await this.d.ops.setStatus(row.id, 'running', seen);
      }
    }
    const liveIds = new Set(live.map((r) => instanceId(r.id)));
    for (const { host, driver } of await this.d.drivers.inUse()) {
      // One unreachable host must not stop the sweep of the others.
      await this.removeOrphans(host.name, driver, liveIds).catch((err: Error) => this.d.log.warn({ host: host.name, err: err.message }, 'orphan sweep failed'));
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
