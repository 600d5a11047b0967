import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, rename, rm, stat, truncate } from 'node:fs/promises';
import { writeFileAtomic } from '../../infra/fs.js';
import { run } from '../../infra/process.js';
import { writeSeedIso } from '../../cloudinit/seed-iso.js';
import { INSTANCE_ID_PATTERN, type ComputeDriver, type ConsoleLogRotation, type SerialConsole, type DriverInfo, type InstanceInspection, type InstanceSpec, type InstanceStats, type StatsSource, type StopOptions } from '../driver.js';
import { qemuArgs, type Accel } from './args.js';
import { instancePaths } from './paths.js';
import { diskBytesOf, processCounters } from './proc-stats.js';
import { QmpClient } from './qmp-client.js';
import { connectSerial, tailOfFiles } from './serial.js';

export interface QemuDriverOptions {
  /** <data>/vms */
  vmsDir: string;
  /** Resolves the acceleration to use (the auto probe runs once and is cached by its caller). */
  accel: () => Promise<Accel>;
  qemuBinary?: string;
  /** Graceful stop budget before the kill. */
  stopTimeoutMs?: number;
}

/** QEMU run directly: one detached qemu-system-x86_64 per VM, driven over QMP. */
export class QemuDriver implements ComputeDriver, ConsoleLogRotation, SerialConsole, StatsSource {
  private readonly qemu: string;
  private readonly stopTimeoutMs: number;
  private accelUsed?: Accel;

  constructor(private readonly opts: QemuDriverOptions) {
    this.qemu = opts.qemuBinary ?? 'qemu-system-x86_64';
    this.stopTimeoutMs = opts.stopTimeoutMs ?? 60_000;
  }

  info(): DriverInfo {
    return {
      name: 'qemu',
      features: { console: true, stats: true, survivesRestart: true, gracefulStop: true },
      details: { binary: this.qemu, accel: this.accelUsed ?? 'unknown' },
    };
  }

  private paths(id: string) {
    return instancePaths(this.opts.vmsDir, id);
  }

  async create(spec: InstanceSpec): Promise<void> {
    const p = this.paths(spec.id);
    await mkdir(p.dir, { recursive: true, mode: 0o700 });
    if (!existsSync(p.disk)) {
      const backing = spec.boot.kind === 'disk' ? ['-F', spec.boot.format, '-b', spec.boot.path] : [];
      const tmp = `${p.disk}.tmp`;
      await run('qemu-img', ['create', '-q', '-f', 'qcow2', ...backing, tmp, `${spec.diskGb}G`], { timeoutMs: 60_000 });
      await rename(tmp, p.disk);
    }
    await writeSeedIso(`${p.seed}.tmp`, spec.seed);
    await rename(`${p.seed}.tmp`, p.seed);
    await writeFileAtomic(p.spec, JSON.stringify(spec, null, 2));
    await this.writeInfo(spec.id, spec.info);
  }

  async start(id: string): Promise<void> {
    const p = this.paths(id);
    if ((await this.inspect(id)).state === 'running') return;
    const spec = JSON.parse(await readFile(p.spec, 'utf8')) as InstanceSpec;
    await rm(p.qmp, { force: true });
    await rm(p.serial, { force: true });
    const accel = await this.opts.accel();
    this.accelUsed = accel;
    // -daemonize: QEMU returns once the VM is set up, and keeps running if we restart.
    await run(this.qemu, qemuArgs(spec, p, accel), { timeoutMs: 60_000, cwd: p.dir });
  }

  async stop(id: string, options: StopOptions = {}): Promise<void> {
    const state = await this.inspect(id);
    if (state.state !== 'running' || !state.pid) return;
    if (!options.force) {
      const stopped = await this.gracefulPowerdown(id, state.pid, options.timeoutMs ?? this.stopTimeoutMs);
      if (stopped) return;
    }
    await this.kill(state.pid);
  }

  async reboot(id: string, options: { force?: boolean } = {}): Promise<void> {
    if (options.force) {
      const qmp = await QmpClient.connect(this.paths(id).qmp);
      try {
        await qmp.execute('system_reset');
      } finally {
        qmp.close();
      }
      return;
    }
    // A clean reboot is a guest power-off and a fresh QEMU: it also picks up a changed spec.
    await this.stop(id);
    await this.start(id);
  }

  async destroy(id: string): Promise<void> {
    const p = this.paths(id);
    const state = await this.inspect(id);
    if (state.state === 'running' && state.pid) await this.kill(state.pid);
    await rm(p.dir, { recursive: true, force: true });
  }

  async inspect(id: string): Promise<InstanceInspection> {
    const p = this.paths(id);
    if (!existsSync(p.dir)) return { state: 'missing' };
    const pid = await readPid(p.pidfile);
    if (pid && (await isOurQemu(pid, id))) {
      const started = await stat(`/proc/${pid}`).catch(() => undefined);
      // QEMU user networking hands the guest its first DHCP address.
      return { state: 'running', pid, startedAt: started?.mtime, privateIp: '10.0.2.15' };
    }
    return { state: 'stopped' };
  }

  /** CPU time and memory of the QEMU process from /proc, disk bytes from QMP; user networking counts nothing. */
  async stats(id: string): Promise<InstanceStats | undefined> {
    const state = await this.inspect(id);
    if (state.state !== 'running' || !state.pid) return undefined;
    const counters = await processCounters(state.pid);
    const qmp = await QmpClient.connect(this.paths(id).qmp);
    try {
      return { ...counters, disk: diskBytesOf(await qmp.execute('query-blockstats')) };
    } finally {
      qmp.close();
    }
  }

  async list(): Promise<string[]> {
    const entries = await readdir(this.opts.vmsDir).catch(() => [] as string[]);
    return entries.filter((e) => INSTANCE_ID_PATTERN.test(e));
  }

  /**
   * Copy-then-truncate: QEMU keeps serial.log open in append mode, so truncating it in place is
   * safe; bytes written between the copy and the truncate (milliseconds) can be lost.
   */
  async rotateConsoleLog(id: string, maxBytes: number): Promise<boolean> {
    const p = this.paths(id);
    const size = (await stat(p.serialLog).catch(() => undefined))?.size ?? 0;
    if (size <= maxBytes) return false;
    await copyFile(p.serialLog, `${p.serialLog}.1`);
    await truncate(p.serialLog, 0);
    return true;
  }

  openSerial(id: string) {
    return connectSerial(this.paths(id).serial);
  }

  serialScrollback(id: string, maxBytes: number): Promise<Buffer> {
    const { serialLog } = this.paths(id);
    return tailOfFiles([`${serialLog}.1`, serialLog], maxBytes);
  }

  async writeInfo(id: string, info: Record<string, unknown>): Promise<void> {
    await writeFileAtomic(this.paths(id).info, JSON.stringify(info, null, 2) + '\n');
  }

  /** ACPI power button over QMP, then wait for the process to end. */
  private async gracefulPowerdown(id: string, pid: number, timeoutMs: number): Promise<boolean> {
    let qmp: QmpClient | undefined;
    try {
      qmp = await QmpClient.connect(this.paths(id).qmp);
      await qmp.execute('system_powerdown');
    } catch {
      return false;
    } finally {
      qmp?.close();
    }
    return waitForExit(pid, timeoutMs);
  }

  private async kill(pid: number): Promise<void> {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      return;
    }
    await waitForExit(pid, 10_000);
  }
}

async function readPid(pidfile: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(pidfile, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** True if the pid is alive AND is the QEMU of this instance (pids get reused). */
async function isOurQemu(pid: number, id: string): Promise<boolean> {
  try {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    const state = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.[0];
    return state !== 'Z' && cmdline.split('\0').includes(`${id},process=qemu-${id}`);
  } catch {
    return false;
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!existsSync(`/proc/${pid}`)) return true;
    const state = await readFile(`/proc/${pid}/stat`, 'utf8').then((s) => s.split(') ')[1]?.[0]).catch(() => undefined);
    if (state === undefined || state === 'Z') return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}
