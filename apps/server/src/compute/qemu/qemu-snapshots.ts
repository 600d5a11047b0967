import type { SnapshotResult } from '../driver.js';
import type { QemuInstanceHost } from './instance-host.js';

/** GROUNDWORK(issue 13): snapshots of QEMU instances under <data>/snapshots/snap-<id>/. */
export class QemuSnapshots {
  constructor(
    private readonly host: QemuInstanceHost,
    private readonly dir: string,
  ) {}

  async create(id: string, snap: string, options: { memory: boolean }): Promise<SnapshotResult> {
    throw new Error(`snapshots are not built yet (${id} ${snap} ${options.memory} ${this.dir} ${typeof this.host})`);
  }

  async restore(id: string, snap: string): Promise<{ running: boolean }> {
    throw new Error(`snapshots are not built yet (${id} ${snap})`);
  }

  async remove(snap: string): Promise<void> {
    throw new Error(`snapshots are not built yet (${snap})`);
  }

  async list(): Promise<string[]> {
    return [];
  }
}
