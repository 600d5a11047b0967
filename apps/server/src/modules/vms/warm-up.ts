import type { FastifyBaseLogger } from 'fastify';
import type { HealthComponent } from '@twarga/contract';
import { canStartInstantly, type ComputeDriver, type InstanceSpec, type InstantStart } from '../../compute/driver.js';
import type { ComputeRegistry } from '../../compute/registry.js';
import type { HostsRepository } from '../hosts/hosts.repository.js';
import type { ImagesRepository } from '../images/images.repository.js';
import type { ImagesService } from '../images/images.service.js';
import type { WarmPoolEvent } from '../../compute/qemu/warm-pool.js';
import type { EventLog } from '../events/event-log.js';
import { SIZES } from '../sizes/sizes.js';
import { warmSpecOf } from './instance-spec.js';

export interface WarmUpDeps {
  enabled: boolean;
  warmSizes: string;
  hosts: HostsRepository;
  drivers: ComputeRegistry;
  images: ImagesService;
  imagesRepo: ImagesRepository;
  log: FastifyBaseLogger;
}

/** One warm snapshot the server keeps ready: an instant-capable image in one of TWARGA_WARM_SIZES. */
interface WarmTarget {
  image: string;
  size: string;
  spec: InstanceSpec;
}

/**
 * Instant VMs' warm snapshots, as the server wants them: for every instant-capable image (one that
 * boots from kernel+initrd: the built-in tiny image) and every size in TWARGA_WARM_SIZES, on this
 * machine's QEMU host when it is enabled. Other shapes get theirs on their first (cold) creation.
 */
export class WarmUp {
  constructor(private readonly d: WarmUpDeps) {}

  /** At server start: builds run in the driver's background, before the first creation asks. */
  async prepare(): Promise<number> {
    const found = await this.targets();
    for (const t of found?.targets ?? []) found!.driver.prepareWarm(t.spec);
    return found?.targets.length ?? 0;
  }

  /**
   * The admin's system health: healthy when every warm snapshot is ready, degraded while one is
   * missing, building or failed (creations of that size boot cold meanwhile). Undefined when
   * instant VMs are off or no QEMU host can have them.
   */
  async component(): Promise<HealthComponent | undefined> {
    const found = await this.targets();
    if (!found?.driver.warmState) return undefined;
    const states = await Promise.all(found.targets.map(async (t) => ({ image: t.image, size: t.size, ...(await found.driver.warmState!(t.spec)) })));
    const notReady = states.filter((s) => s.state !== 'ready');
    const facts = { warm_snapshots: states.map(({ image, size, state, reason }) => ({ image, size, state, reason: reason ?? null })) };
    const base = { name: 'instant_vms', kind: 'instant' as const, facts };
    if (notReady.length === 0) return { ...base, status: 'healthy', detail: `${states.length} warm snapshot(s) ready: new VMs of those sizes start instantly` };
    const which = notReady.map((s) => `${s.image} ${s.size} ${s.state}${s.reason ? ` (${s.reason})` : ''}`).join('; ');
    return { ...base, status: 'degraded', detail: `creations boot cold until their warm snapshot is ready: ${which}`.slice(0, 500) };
  }

  private async targets(): Promise<{ driver: ComputeDriver & InstantStart; targets: WarmTarget[] } | undefined> {
    const { d } = this;
    if (!d.enabled || !d.warmSizes) return undefined;
    const host = (await d.hosts.list()).find((h) => h.driver === 'qemu' && h.enabled === 1);
    if (!host || !d.drivers.supports('qemu')) return undefined;
    const driver = d.drivers.forHost(host);
    if (!canStartInstantly(driver)) return undefined;
    const targets: WarmTarget[] = [];
    for (const image of await d.imagesRepo.list()) {
      if (image.status !== 'available') continue;
      const boot = d.images.bootSource(image);
      if (boot.kind !== 'kernel') continue;
      for (const slug of d.warmSizes.split(',')) {
        const size = SIZES.find((s) => s.slug === slug);
        if (!size) {
          d.log.warn({ size: slug }, 'TWARGA_WARM_SIZES names an unknown size; no warm snapshot for it');
          continue;
        }
        if (size.disk < image.min_disk) continue;
        targets.push({ image: image.slug, size: slug, spec: warmSpecOf(boot, { ram: size.memory, cpu: size.vcpus, disk: size.disk }) });
      }
    }
    return { driver, targets };
  }
}

/**
 * What the QEMU driver's warm pool reports, made visible: a built or failed warm snapshot is a
 * system event (admins see why instant VMs fall back to cold boots); restores and removals go to
 * the log with their phases.
 */
export function warmEventSink(events: EventLog, log: FastifyBaseLogger): (event: WarmPoolEvent) => void {
  return (event) => {
    switch (event.type) {
      case 'built':
        void events.record({ type: 'system', action: 'warm_snapshot.built', message: `Warm snapshot ${event.key.slice(0, 12)} built in ${(event.ms / 1000).toFixed(1)} s: instant VMs of that image and size start from it`, details: { key: event.key, ms: event.ms, state_bytes: event.stateBytes } });
        return;
      case 'failed':
        void events.record({ type: 'system', severity: 'warning', action: 'warm_snapshot.failed', message: `Warm snapshot ${event.key.slice(0, 12)} could not be built: ${event.reason.slice(0, 300)}`, details: { key: event.key, reason: event.reason.slice(0, 2000) } });
        return;
      default:
        log.info({ warm: event }, `warm pool: ${event.type}`);
    }
  };
}
