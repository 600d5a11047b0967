import type { InstanceInspection, StopOptions } from '../driver.js';
import type { InstancePaths } from './paths.js';
import type { QmpClient } from './qmp-client.js';

/**
 * What the QEMU driver's helpers (snapshots, maintenance, the warm pool) may use of it: its
 * instances' files, their state, start/stop, and the instance's one QMP session at a time.
 */
export interface QemuInstanceHost {
  paths(id: string): InstancePaths;
  inspect(id: string): Promise<InstanceInspection>;
  start(id: string): Promise<void>;
  stop(id: string, options?: StopOptions): Promise<void>;
  withQmp<T>(id: string, connectTimeoutMs: number | undefined, fn: (qmp: QmpClient) => Promise<T>): Promise<T>;
}
