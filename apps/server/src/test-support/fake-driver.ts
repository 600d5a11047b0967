import type { ComputeDriver, DriverInfo, InstanceInspection, InstanceSpec, InstanceStats } from '../compute/driver.js';

/**
 * An in-memory driver for fast tests of the layers above compute (rules, locks, statuses).
 * Never a product feature: the product runs real QEMU.
 */
export class FakeDriver implements ComputeDriver {
  readonly calls: string[] = [];
  readonly instances = new Map<string, { spec: InstanceSpec; state: 'running' | 'stopped'; startedAt?: Date; paused?: string }>();
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
    const i = this.instances.get(id)!;
    // No startedAt: the layers above then use their own (test) clock; a test sets one to model a real start.
    if (i.state !== 'running') Object.assign(i, { state: 'running', startedAt: undefined, paused: undefined });
  }
  async stop(id: string) {
    await this.step('stop', id);
    const i = this.instances.get(id);
    if (i) Object.assign(i, { state: 'stopped', startedAt: undefined, paused: undefined });
  }
  /** What a hypervisor does on its own: halts the guest (e.g. QEMU on a disk write error), or lets it go on (reason undefined). */
  pause(id: string, reason: string | undefined) {
    this.instances.get(id)!.paused = reason;
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
    if (!i) return { state: 'missing' };
    if (i.state === 'stopped') return { state: 'stopped' };
    return { state: 'running', privateIp: '10.0.2.15', startedAt: i.startedAt, ...(i.paused ? { paused: { reason: i.paused } } : {}) };
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
