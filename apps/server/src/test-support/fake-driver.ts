import type { ComputeDriver, DriverInfo, InstanceInspection, InstanceSpec, InstanceStats } from '../compute/driver.js';

/**
 * An in-memory driver for fast tests of the layers above compute (rules, locks, statuses).
 * Never a product feature: the product runs real QEMU.
 */
export class FakeDriver implements ComputeDriver {
  readonly calls: string[] = [];
  readonly instances = new Map<string, { spec: InstanceSpec; state: 'running' | 'stopped' }>();
  /** Every operation waits this long, so tests can overlap actions. */
  delayMs = 0;
  failNext?: { op: string; message: string };

  info(): DriverInfo {
    return { name: 'fake', features: { console: false, stats: true, survivesRestart: true, gracefulStop: true }, details: {} };
  }

  private async step(op: string, id: string) {
    this.calls.push(`${op} ${id}`);
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.failNext?.op === op) {
      const { message } = this.failNext;
      this.failNext = undefined;
      throw new Error(message);
    }
  }

  async create(spec: InstanceSpec) {
    await this.step('create', spec.id);
    if (!this.instances.has(spec.id)) this.instances.set(spec.id, { spec, state: 'stopped' });
  }
  async start(id: string) {
    await this.step('start', id);
    this.instances.get(id)!.state = 'running';
  }
  async stop(id: string) {
    await this.step('stop', id);
    const i = this.instances.get(id);
    if (i) i.state = 'stopped';
  }
  async reboot(id: string) {
    await this.step('reboot', id);
  }
  async destroy(id: string) {
    await this.step('destroy', id);
    this.instances.delete(id);
  }
  async inspect(id: string): Promise<InstanceInspection> {
    const i = this.instances.get(id);
    return i ? { state: i.state, privateIp: '10.0.2.15' } : { state: 'missing' };
  }
  async list() {
    return [...this.instances.keys()];
  }
  /** Fixed counters: the layers above only pass them on (real drivers are checked by the contract suite). */
  async stats(id: string): Promise<InstanceStats | undefined> {
    if (this.instances.get(id)?.state !== 'running') return undefined;
    return { cpuTimeNs: 1_500_000_000, memoryRssBytes: 64 * 1024 * 1024, disk: { readBytes: 1000, writeBytes: 2000 }, network: { rxBytes: 300, txBytes: 400 } };
  }
  async writeInfo() {}
}
