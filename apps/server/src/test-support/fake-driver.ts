import type { ComputeDriver, DriverInfo, InstanceInspection, InstanceSpec, InstanceStats, Rebuildable, Resizable, ResizeTarget, SnapshotResult, SnapshotStore } from '../compute/driver.js';

/** A fake instance's disk: a label tests set and read ("what is on the disk"), and its size. */
export interface FakeDisk {
  content: string;
  sizeGb: number;
}

/** A fake snapshot: the disk it copied, and the RAM state when it has one. */
export interface FakeSnapshot {
  instance: string;
  disk: FakeDisk;
  memory: boolean;
  sizeBytes: number;
}

/**
 * An in-memory driver for fast tests of the layers above compute (rules, locks, statuses), with
 * the snapshot, resize and rebuild abilities as the QEMU driver has them (the contract in
 * compute/driver.ts), disks modelled as labels. Never a product feature: the product runs real QEMU.
 */
export class FakeDriver implements ComputeDriver, SnapshotStore, Resizable, Rebuildable {
  readonly calls: string[] = [];
  readonly instances = new Map<string, { spec: InstanceSpec; state: 'running' | 'stopped'; startedAt?: Date; paused?: string; disk?: FakeDisk }>();
  readonly snapshots = new Map<string, FakeSnapshot>();
  /** Bytes a disk copy takes (a RAM state adds the instance's memory). */
  snapshotDiskBytes = 1_500_000_000;
  /** Whether a running guest's agent answers the fsfreeze (quiesced snapshots). */
  agentAnswers = true;
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
    if (this.instances.has(spec.id)) return;
    let disk: FakeDisk = { content: freshDisk(spec), sizeGb: spec.diskGb };
    if (spec.fromSnapshot) {
      const snap = this.snapshots.get(spec.fromSnapshot);
      if (!snap) throw new Error(`snapshot ${spec.fromSnapshot} not found`);
      disk = { content: snap.disk.content, sizeGb: Math.max(spec.diskGb, snap.disk.sizeGb) };
    }
    this.instances.set(spec.id, { spec, state: 'stopped', disk });
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

  // --- SnapshotStore -------------------------------------------------------------------

  async createSnapshot(id: string, snap: string, options: { memory: boolean }): Promise<SnapshotResult> {
    await this.step('createSnapshot', snap);
    const i = this.instances.get(id);
    if (!i) throw new Error(`instance ${id} not found`);
    const running = i.state === 'running';
    const memory = options.memory && running;
    const sizeBytes = this.snapshotDiskBytes + (memory ? i.spec.memoryMb * 1024 * 1024 : 0);
    this.snapshots.set(snap, { instance: id, disk: { ...(i.disk ?? { content: freshDisk(i.spec), sizeGb: i.spec.diskGb }) }, memory, sizeBytes });
    return { sizeBytes, memory, quiesced: running && this.agentAnswers };
  }

  async restoreSnapshot(id: string, snap: string): Promise<{ running: boolean }> {
    await this.step('restoreSnapshot', snap);
    const i = this.instances.get(id);
    const s = this.snapshots.get(snap);
    if (!i) throw new Error(`instance ${id} not found`);
    if (!s) throw new Error(`snapshot ${snap} not found`);
    i.disk = { ...s.disk };
    Object.assign(i, s.memory ? { state: 'running', paused: undefined } : { state: 'stopped', startedAt: undefined, paused: undefined });
    return { running: s.memory };
  }

  async deleteSnapshot(snap: string): Promise<void> {
    await this.step('deleteSnapshot', snap);
    this.snapshots.delete(snap);
  }

  async listSnapshots(): Promise<string[]> {
    return [...this.snapshots.keys()];
  }

  // --- Resizable, Rebuildable ----------------------------------------------------------

  async resize(id: string, to: ResizeTarget): Promise<void> {
    await this.step('resize', id);
    const i = this.instances.get(id);
    if (!i) throw new Error(`instance ${id} not found`);
    if (i.state !== 'stopped') throw new Error(`instance ${id} must be stopped to resize`);
    if (to.diskGb < i.spec.diskGb) throw new Error(`disk of ${id} cannot shrink from ${i.spec.diskGb} to ${to.diskGb} GB`);
    i.spec = { ...i.spec, memoryMb: to.memoryMb, vcpus: to.vcpus, diskGb: to.diskGb };
    if (i.disk) i.disk.sizeGb = to.diskGb;
  }

  async rebuild(spec: InstanceSpec): Promise<void> {
    await this.step('rebuild', spec.id);
    const i = this.instances.get(spec.id);
    if (!i) throw new Error(`instance ${spec.id} not found`);
    if (i.state !== 'stopped') throw new Error(`instance ${spec.id} must be stopped to rebuild`);
    i.spec = spec;
    i.disk = { content: freshDisk(spec), sizeGb: spec.diskGb };
  }
}

/** A new disk's label: what it was made from. */
function freshDisk(spec: InstanceSpec): string {
  return spec.boot?.kind === 'disk' ? `image:${spec.boot.path}` : 'blank';
}
