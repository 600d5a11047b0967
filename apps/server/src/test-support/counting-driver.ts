import type { GuestReport, InstanceStats } from '../compute/driver.js';
import { FakeDriver } from './fake-driver.js';

/** The fake driver with hypervisor counters a test moves, and a guest agent it can silence. */
export class CountingDriver extends FakeDriver {
  counters = new Map<string, InstanceStats>();
  guest = new Map<string, GuestReport>();
  /** The next this many stats() calls fail, as a hypervisor that does not answer. */
  failingStats = 0;
  override async stats(id: string): Promise<InstanceStats | undefined> {
    if (this.failingStats > 0 && this.failingStats--) throw new Error('QMP did not answer');
    if (this.instances.get(id)?.state !== 'running') return undefined;
    return this.counters.get(id) ?? { cpuTimeNs: 0, memoryRssBytes: 100 * 2 ** 20, disk: { readBytes: 0, writeBytes: 0 } };
  }
  async guestReport(id: string): Promise<GuestReport | undefined> {
    if (this.instances.get(id)?.state !== 'running') return undefined;
    return this.guest.get(id) ?? { agent: false };
  }
}
