import type { InstanceSpec, InstantStartOutcome } from '../driver.js';
import type { QemuInstanceHost } from './instance-host.js';

/** GROUNDWORK(issue 13): warm snapshots per image and shape, and instant starts from them. */
export class WarmPool {
  constructor(
    private readonly host: QemuInstanceHost,
    private readonly dir: string,
  ) {}

  async startInstant(spec: InstanceSpec): Promise<InstantStartOutcome> {
    return { started: false, reason: `instant start is not built yet (${spec.id} ${this.dir} ${typeof this.host})` };
  }

  prepare(spec: InstanceSpec): void {
    void spec;
  }
}
