import type { FastifyBaseLogger } from 'fastify';
import { hostValues, vmValues, type HostMetrics, type VmMetrics } from '@twarga/contract';
import { instanceId, type InstanceStats } from '../../compute/driver.js';
import type { ComputeRegistry } from '../../compute/registry.js';
import { Periodic } from '../../lib/periodic.js';
import type { Clock } from '../../lib/time.js';
import { ADMINS_ONLY, EVERY_USER, type LiveBus } from '../../operations/live-bus.js';
import type { VmsRepository } from '../vms/vms.repository.js';
import type { Retention } from './history.js';
import type { HostSampler } from './host-sampler.js';
import type { MetricsRepository, SampleRow } from './metrics.repository.js';
import type { VmSampler } from './vm-sampler.js';

/** VMs sampled at once in a pass. */
const VM_CONCURRENCY = 8;

/** How one collection pass went: its wall time, the VMs it sampled, when it ended. */
export interface PassReport {
  seconds: number;
  vms: number;
  ok: boolean;
  at: Date;
}


export interface CollectorDeps {
  repo: MetricsRepository;
  /** The running VMs (the vms module's repository). */
  vmRows: Pick<VmsRepository, 'listRunning'>;
  drivers: ComputeRegistry;
  bus: LiveBus;
  clock: Clock;
  log: FastifyBaseLogger;
  host: HostSampler;
  vms: VmSampler;
  retention: Retention;
  /** Host samples go to every signed-in user, not only admins (TWARGA_HOST_METRICS_FOR_USERS). */
  hostForUsers?: boolean;
}

/**
 * Every metricsIntervalSeconds: one host sample and one per running VM, stored as one row each,
 * published on the events channel, then the rollup/retention step. Reads are async (never
 * blocking the event loop) and passes never overlap (Periodic).
 */
export class MetricsCollector {
  private readonly periodic: Periodic;

  /** The periodic pass, for the admin's system health (when it last ran). */
  get job(): Periodic {
    return this.periodic;
  }
  private latestHost?: HostMetrics;
  private readonly latestVm = new Map<number, VmMetrics>();

  constructor(private readonly d: CollectorDeps) {
    this.periodic = new Periodic('metrics collector', () => this.pass().then(() => undefined), d.log);
  }

  start(intervalMs: number): void {
    this.periodic.start(intervalMs);
  }

  stop(): void {
    this.periodic.stop();
  }

  /** The last sample taken (the API's current values); undefined before the first. */
  host(): HostMetrics | undefined {
    return this.latestHost;
  }

  vm(id: number): VmMetrics | undefined {
    return this.latestVm.get(id);
  }

  /** The hypervisor's running totals behind a VM's last sample. */
  vmCounters(id: number): InstanceStats | undefined {
    return this.d.vms.counters(id);
  }

  private chain: Promise<unknown> = Promise.resolve();
  /** The minute (epoch seconds / 60) of the last rollup and retention run. */
  private maintainedMinute?: number;
  private readonly passListeners: ((p: PassReport) => void)[] = [];

  /** Told after every pass, failed or not (the Prometheus exporter's duration histogram). */
  onPass(listener: (p: PassReport) => void): void {
    this.passListeners.push(listener);
  }

  /** One collection; returns how many VMs were sampled. Passes queue (timer and "collect now" never interleave). */
  pass(): Promise<{ sampledAt: Date; vms: number }> {
    const run = this.chain.then(async () => {
      const started = performance.now();
      const report = (vms: number, ok: boolean) => {
        const p = { seconds: (performance.now() - started) / 1000, vms, ok, at: this.d.clock.now() };
        for (const l of this.passListeners) l(p);
      };
      try {
        const result = await this.collectOnce();
        report(result.vms, true);
        return result;
      } catch (err) {
        report(0, false);
        throw err;
      }
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async collectOnce(): Promise<{ sampledAt: Date; vms: number }> {
    const now = this.d.clock.now();
    const ts = Math.floor(now.getTime() / 1000);
    const rows: SampleRow[] = [];
    try {
      const host = await this.d.host.sample(now);
      this.latestHost = host;
      rows.push({ entity: 'host', entity_id: 0, resolution: 0, ts, ...hostValues(host), minmax: null });
      this.d.bus.publish(this.d.hostForUsers ? EVERY_USER : ADMINS_ONLY, { kind: 'metrics', entity: 'host', sample: host });
    } catch (err) {
      this.d.log.warn({ err }, 'host metrics sample failed');
    }
    const running = await this.d.vmRows.listRunning();
    const seen = new Set<number>();
    // A few VMs at a time: a slow hypervisor or a silent guest agent (which costs its ping timeout)
    // delays this pass, never the event loop, and 20 VMs do not add up their timeouts one by one.
    for (let i = 0; i < running.length; i += VM_CONCURRENCY) {
      await Promise.all(running.slice(i, i + VM_CONCURRENCY).map(async (vm) => {
        try {
          const driver = await this.d.drivers.forVm(vm);
          // Each VM's rate uses its own reading time: a slow answer earlier in the pass does not skew it.
          const s = await this.d.vms.sample(vm, driver, instanceId(vm.id), this.d.clock.now());
          if (!s) return;
          seen.add(vm.id);
          this.latestVm.set(vm.id, s);
          rows.push({ entity: 'vm', entity_id: vm.id, resolution: 0, ts, ...vmValues(s), minmax: null });
          this.d.bus.publish(vm.user_id, { kind: 'metrics', entity: 'vm', vm_id: vm.id, sample: s });
        } catch (err) {
          this.d.log.warn({ err, vmId: vm.id }, 'VM metrics sample failed');
        }
      }));
    }
    // A VM that still runs keeps its baseline and last sample through one failed reading (its
    // next rate spans both intervals); one that stopped loses them.
    const runningIds = new Set(running.map((vm) => vm.id));
    this.d.vms.retain(runningIds);
    for (const id of this.latestVm.keys()) if (!runningIds.has(id)) this.latestVm.delete(id);
    await this.d.repo.insert(rows);
    // Rollups work on finished minutes: once per minute is enough (a pass every 5 s paid for it 12 times).
    const minute = Math.floor(ts / 60);
    if (minute !== this.maintainedMinute) {
      this.maintainedMinute = minute;
      await this.maintain(now);
    }
    return { sampledAt: now, vms: seen.size };
  }

  /** Rollups of finished minutes and hours, then retention. Cheap when there is nothing to do. */
  async maintain(now: Date): Promise<{ rolledUp: number; deleted: number }> {
    const nowSec = Math.floor(now.getTime() / 1000);
    const { repo, retention: r } = this.d;
    // Bounded catch-up: each rollup call handles a limited span; loop a few times after a downtime.
    let rolledUp = 0;
    for (const [source, target] of [[0, 60], [60, 3600]] as const) {
      for (let i = 0; i < 24; i++) {
        const n = await repo.rollup(source, target, nowSec);
        rolledUp += n;
        if (n === 0) break;
      }
    }
    const deleted =
      (await repo.deleteOlder(0, nowSec - r.rawSeconds)) +
      (await repo.deleteOlder(60, nowSec - r.minuteSeconds)) +
      (await repo.deleteOlder(3600, nowSec - r.hourSeconds));
    return { rolledUp, deleted };
  }
}
