import type { ComputeDriverName } from '@twarga/contract';
import type { HostRow, HostsRepository } from '../modules/hosts/hosts.repository.js';
import type { ComputeDriver } from './driver.js';

export type DriverFactory = (host: HostRow) => ComputeDriver;

/**
 * One driver per compute host, made on first use from the host's row. Driver and URI never
 * change; the pool may (only while the host has no VMs), and then the driver is made anew.
 */
export class ComputeRegistry {
  private readonly drivers = new Map<number, { driver: ComputeDriver; pool: string | null }>();

  constructor(
    private readonly hosts: HostsRepository,
    private readonly factories: Partial<Record<ComputeDriverName, DriverFactory>>,
  ) {}

  supports(driver: ComputeDriverName): boolean {
    return this.factories[driver] !== undefined;
  }

  forHost(host: HostRow): ComputeDriver {
    const made = this.drivers.get(host.id);
    if (made && made.pool === host.pool) return made.driver;
    const make = this.factories[host.driver];
    if (!make) throw new Error(`host ${host.name}: the ${host.driver} driver is not available on this server`);
    const driver = make(host);
    this.drivers.set(host.id, { driver, pool: host.pool });
    return driver;
  }

  async forVm(vm: { id: number; host_id: number | null }): Promise<ComputeDriver> {
    const host = vm.host_id === null ? undefined : await this.hosts.find(vm.host_id);
    if (!host) throw new Error(`VM ${vm.id} has no compute host`);
    return this.forHost(host);
  }

  /**
   * Enabled hosts that have held VMs, with their drivers: the reconciler's orphan sweep. A host
   * just added (or disabled for maintenance) is not contacted in the background.
   */
  async inUse(): Promise<{ host: HostRow; driver: ComputeDriver }[]> {
    const used = await this.hosts.usedHostIds();
    return (await this.hosts.list())
      .filter((h) => h.enabled === 1 && used.has(h.id) && this.supports(h.driver))
      .map((host) => ({ host, driver: this.forHost(host) }));
  }

  /** A disabled host is out of service: its VMs are neither reconciled nor acted on. */
  async hostOf(vm: { host_id: number | null }): Promise<HostRow | undefined> {
    return vm.host_id === null ? undefined : this.hosts.find(vm.host_id);
  }
}
