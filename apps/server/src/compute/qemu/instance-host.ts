import type { InstanceInspection, InstanceSpec, StopOptions } from '../driver.js';
import type { Accel, QemuArgsOptions } from './args.js';
import type { InstancePaths } from './paths.js';
import type { QmpClient } from './qmp-client.js';

/**
 * What the QEMU driver's helpers (snapshots, maintenance, the warm pool) may use of it: its
 * instances' files, their state, create/start/stop/destroy, and the instance's one QMP session at a time.
 */
export interface QemuInstanceHost {
  paths(id: string): InstancePaths;
  inspect(id: string): Promise<InstanceInspection>;
  /** Writes the instance's files (disk unless one exists already, seed, spec.json, .vm_info). */
  create(spec: InstanceSpec): Promise<void>;
  start(id: string): Promise<void>;
  /** start() with argv options (e.g. `incoming`: paused, waiting for a saved state). */
  launch(id: string, options?: QemuArgsOptions): Promise<void>;
  stop(id: string, options?: StopOptions): Promise<void>;
  destroy(id: string): Promise<void>;
  withQmp<T>(id: string, connectTimeoutMs: number | undefined, fn: (qmp: QmpClient) => Promise<T>): Promise<T>;
  /** The acceleration VMs run with. */
  accel(): Promise<Accel>;
  /** Runs a daemonizing QEMU with this argv (for QEMUs that are no instance, e.g. a warm build). */
  runQemu(args: string[], p: { dir: string; qemuLog: string }): Promise<void>;
  readonly qemuBinary: string;
}
