import type { InstanceSpec, ResizeTarget } from '../driver.js';
import type { QemuInstanceHost } from './instance-host.js';
import type { QemuSnapshots } from './qemu-snapshots.js';

/** GROUNDWORK(issue 13): resize and rebuild of stopped QEMU instances. */
export class QemuMaintenance {
  constructor(
    private readonly host: QemuInstanceHost,
    private readonly snapshots: QemuSnapshots,
  ) {}

  async resize(id: string, to: ResizeTarget): Promise<void> {
    throw new Error(`resize is not built yet (${id} ${JSON.stringify(to)} ${typeof this.host})`);
  }

  async rebuild(spec: InstanceSpec): Promise<void> {
    throw new Error(`rebuild is not built yet (${spec.id} ${typeof this.snapshots})`);
  }
}
