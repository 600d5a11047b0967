import { existsSync } from 'node:fs';
import path from 'node:path';
import { copyFile, mkdir, readFile, readdir, rename, rm, stat, truncate } from 'node:fs/promises';
import { writeFileAtomic } from '../../infra/fs.js';
import { CommandError, run } from '../../infra/process.js';
import { qemuReason, readFromOffset } from './qemu-errors.js';
import { writeSeedIso } from '../../cloudinit/seed-iso.js';
import { syslogVendorData } from '../../cloudinit/syslog-forward.js';
import { INSTANCE_ID_PATTERN, type ComputeDriver, type ConsoleLogRotation, type SerialConsole, type DriverInfo, type InstanceInspection, type GuestAgentSource, type GuestReport, type SyslogChannelSource, type InstanceSpec, type InstanceStats, type StatsSource, type StopOptions, type InstantStart, type InstantStartOutcome, type Rebuildable, type Resizable, type ResizeTarget, type SnapshotResult, type SnapshotStore } from '../driver.js';
import type { QemuInstanceHost } from './instance-host.js';
import { QemuMaintenance } from './qemu-maintenance.js';
import { QemuSnapshots } from './qemu-snapshots.js';
import { createDisk } from './qemu-img.js';
import { WarmPool, type WarmPoolEvent } from './warm-pool.js';
import { parseBalloonStats, parseFsInfo, parseInterfaces } from '../guest-parse.js';
import { QgaClient } from './qga-client.js';
import { qemuArgs, SYSLOG_GUEST_ADDRESS, SYSLOG_GUEST_PORT, type Accel, type QemuArgsOptions } from './args.js';
import { instancePaths } from './paths.js';
import { diskBytesOf, processCounters } from './proc-stats.js';
import { QmpClient, QmpTurns } from './qmp-client.js';
import { connectSerial, tailOfFiles } from './serial.js';
import { isOurQemu, killAndWait, processStartTime, qemuProcessesOf, readPid, waitForExit } from './process.js';

export interface QemuDriverOptions {
  /** <data>/vms */
  vmsDir: string;
  /** Resolves the acceleration to use (the auto probe runs once and is cached by its caller). */
  accel: () => Promise<Accel>;
  qemuBinary?: string;
  /** Graceful stop budget before the kill. */
  stopTimeoutMs?: number;
  /** <data>/snapshots: one directory per snapshot (snap-<id>). Default: next to vmsDir. */
  snapshotsDir?: string;
  /** <data>/warm: the warm snapshots instant VMs start from. Default: next to vmsDir. */
  warmDir?: string;
  /** What the warm pool reports (built, failed, removed, restored with its phases): for logs and events. */
  onWarmEvent?: (event: WarmPoolEvent) => void;
}

/** QEMU run directly: one detached qemu-system-x86_64 per VM, driven over QMP. */
export class QemuDriver
  implements ComputeDriver, ConsoleLogRotation, SerialConsole, StatsSource, GuestAgentSource, SyslogChannelSource, SnapshotStore, Resizable, Rebuildable, InstantStart, QemuInstanceHost
{
  private readonly qemu: string;
  private readonly stopTimeoutMs: number;
  private accelUsed?: Accel;

  private readonly snapshots: QemuSnapshots;
  private readonly maintenance: QemuMaintenance;
  private readonly warm: WarmPool;

  constructor(private readonly opts: QemuDriverOptions) {
    this.qemu = opts.qemuBinary ?? 'qemu-system-x86_64';
    this.stopTimeoutMs = opts.stopTimeoutMs ?? 60_000;
    const dataDir = path.dirname(opts.vmsDir);
    this.snapshots = new QemuSnapshots(this, opts.snapshotsDir ?? path.join(dataDir, 'snapshots'));
    this.maintenance = new QemuMaintenance(this);
    this.warm = new WarmPool(this, opts.warmDir ?? path.join(dataDir, 'warm'), opts.onWarmEvent);
  }

  info(): DriverInfo {
    return {
      name: 'qemu',
      features: { console: true, stats: true, survivesRestart: true, gracefulStop: true },
      details: { binary: this.qemu, accel: this.accelUsed ?? 'unknown' },
    };
  }

  paths(id: string) {
    return instancePaths(this.opts.vmsDir, id);
  }

  // --- snapshots, resize, rebuild, instant start: in their own modules ---------------------

  createSnapshot(id: string, snap: string, options: { memory: boolean }): Promise<SnapshotResult> {
    return this.snapshots.create(id, snap, options);
  }

  restoreSnapshot(id: string, snap: string): Promise<{ running: boolean }> {
    return this.snapshots.restore(id, snap);
  }

  deleteSnapshot(snap: string): Promise<void> {
    return this.snapshots.remove(snap);
  }

  listSnapshots(): Promise<string[]> {
    return this.snapshots.list();
  }

  resize(id: string, to: ResizeTarget): Promise<void> {
    return this.maintenance.resize(id, to);
  }

  rebuild(spec: InstanceSpec): Promise<void> {
    return this.maintenance.rebuild(spec);
  }

  startInstant(spec: InstanceSpec): Promise<InstantStartOutcome> {
    return this.warm.startInstant(spec);
  }

  prepareWarm(spec: InstanceSpec): void {
    this.warm.prepare(spec);
  }

  /** Where this spec's instant start stands (ready, building, missing, failed) and the warm builds' end. */
  warmState(spec: InstanceSpec) {
    return this.warm.state(spec);
  }

  warmIdle(): Promise<void> {
    return this.warm.idle();
  }

  async create(spec: InstanceSpec): Promise<void> {
    const p = this.paths(spec.id);
    await mkdir(p.dir, { recursive: true, mode: 0o700 });
    if (!existsSync(p.disk)) {
      const tmp = `${p.disk}.tmp`;
      // From a snapshot: a standalone copy of its disk (the snapshot stays deletable), grown to diskGb.
      if (spec.fromSnapshot) await this.snapshots.copyDiskTo(spec.fromSnapshot, tmp, spec.diskGb);
      else await createDisk(tmp, spec.diskGb, spec.boot.kind === 'disk' ? { path: spec.boot.path, format: spec.boot.format } : undefined);
      await rename(tmp, p.disk);
    }
    // Cloud images forward their auth log over the VM's syslog channel (the tiny image has its own relay).
    await writeSeedIso(`${p.seed}.tmp`, { ...spec.seed, vendorData: syslogVendorData({ address: SYSLOG_GUEST_ADDRESS, port: SYSLOG_GUEST_PORT }) });
    await rename(`${p.seed}.tmp`, p.seed);
    await writeFileAtomic(p.spec, JSON.stringify(spec, null, 2));
    await this.writeInfo(spec.id, spec.info);
  }

  async start(id: string): Promise<void> {
    return this.launch(id);
  }

  /** start(), with argv options: `incoming` waits (paused) for a saved state to be loaded over QMP. */
  async launch(id: string, options: QemuArgsOptions = {}): Promise<void> {
    const p = this.paths(id);
    if ((await this.inspect(id)).state === 'running') return;
    // A start cut short by a crash may have left its QEMU still coming up (no pidfile yet):
    // wait for it rather than launch a second one that would fight it for the disk and port.
    if (await this.waitForLaunching(id)) return;
    const spec = JSON.parse(await readFile(p.spec, 'utf8')) as InstanceSpec;
    await rm(p.qmp, { force: true });
    await rm(p.serial, { force: true });
    await rm(p.qga, { force: true });
    await rm(p.syslog, { force: true });
    const accel = await this.accel();
    await this.runQemu(qemuArgs(spec, p, accel, options), p);
  }

  /** The acceleration VMs run with (probed once by the caller's resolver). */
  async accel(): Promise<Accel> {
    const accel = await this.opts.accel();
    this.accelUsed = accel;
    return accel;
  }

  /** Runs a daemonizing QEMU with this argv; its failure says why (from its -D log). */
  async runQemu(args: string[], p: { dir: string; qemuLog: string }): Promise<void> {
    // With -D, QEMU writes its error messages to that log rather than to stderr: note where this launch starts in it.
    const logOffset = (await stat(p.qemuLog).catch(() => undefined))?.size ?? 0;
    // -daemonize: QEMU returns once the VM is set up, and keeps running if we restart.
    await run(this.qemu, args, { timeoutMs: 60_000, cwd: p.dir }).catch(async (err: unknown) => {
      if (!(err instanceof CommandError)) throw err;
      const logged = err.stderr.trim() ? '' : await readFromOffset(p.qemuLog, logOffset);
      throw new Error(`QEMU could not start the VM: ${qemuReason(logged ? new CommandError(err.command, err.exitCode, logged, err.timedOut) : err)}`, { cause: err });
    });
  }

  get qemuBinary(): string {
    return this.qemu;
  }

  async stop(id: string, options: StopOptions = {}): Promise<void> {
    const state = await this.inspect(id);
    if (state.state !== 'running' || !state.pid) return;
    // A paused guest's vCPUs are halted: it cannot answer the power button, so waiting is pointless.
    if (!options.force && !state.paused) {
      const stopped = await this.gracefulPowerdown(id, state.pid, options.timeoutMs ?? this.stopTimeoutMs);
      if (stopped) return;
    }
    await this.kill(state.pid);
  }

  async reboot(id: string, options: { force?: boolean } = {}): Promise<void> {
    if (options.force) {
      await this.withQmp(id, undefined, (qmp) => qmp.execute('system_reset'));
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
    // Also one still coming up, which would otherwise live on without its files.
    for (const pid of await qemuProcessesOf(id, this.paths(id).pidfile)) await this.kill(pid);
    await rm(p.dir, { recursive: true, force: true });
    this.balloonPolling.delete(id);
  }

  async inspect(id: string): Promise<InstanceInspection> {
    const p = this.paths(id);
    if (!existsSync(p.dir)) return { state: 'missing' };
    const pid = await this.runningPid(id);
    if (pid) {
      const startedAt = await processStartTime(pid);
      const paused = await this.pausedReason(id);
      // QEMU user networking hands the guest its first DHCP address.
      return { state: 'running', pid, startedAt, privateIp: '10.0.2.15', ...(paused ? { paused: { reason: paused } } : {}) };
    }
    return { state: 'stopped' };
  }

  /** The QEMU pid of this instance if it runs (its pidfile, checked in /proc): inspect() without QMP. */
  private async runningPid(id: string): Promise<number | undefined> {
    const pid = await readPid(this.paths(id).pidfile);
    return pid && (await isOurQemu(pid, id)) ? pid : undefined;
  }

  /**
   * QMP query-status: the run state when the vCPUs are halted ('paused' after a QMP stop,
   * 'io-error' when a disk write failed with werror=stop, 'guest-panicked'…), else undefined.
   * Short timeouts: QMP serves one client at a time, and an unanswered query must not hold up
   * the reconciler; an unknown state counts as not paused.
   */
  private async pausedReason(id: string): Promise<string | undefined> {
    try {
      const status = await this.withQmp(id, QUERY_STATUS_TIMEOUT_MS, (qmp) => qmp.execute<{ running: boolean; status: string }>('query-status', undefined, QUERY_STATUS_TIMEOUT_MS));
      return status.running ? undefined : status.status || 'paused';
    } catch {
      return undefined;
    }
  }

  /** One QMP session at a time per instance (see QmpTurns). */
  private readonly qmpTurns = new QmpTurns();

  withQmp<T>(id: string, connectTimeoutMs: number | undefined, fn: (qmp: QmpClient) => Promise<T>): Promise<T> {
    return this.qmpTurns.session(this.paths(id).qmp, connectTimeoutMs, fn);
  }

  /** Waits (up to 30 s) for a QEMU of this instance that is still launching; true if it ends up running. */
  private async waitForLaunching(id: string): Promise<boolean> {
    const deadline = Date.now() + 30_000;
    while ((await qemuProcessesOf(id, this.paths(id).pidfile)).length > 0 && Date.now() < deadline) {
      if ((await this.inspect(id)).state === 'running') return true;
      await new Promise((r) => setTimeout(r, 200));
    }
    return (await this.inspect(id)).state === 'running';
  }

  /** CPU time and memory of the QEMU process from /proc, disk bytes from QMP; user networking counts nothing. */
  async stats(id: string): Promise<InstanceStats | undefined> {
    // Sampled every few seconds per VM: the pid check only, not inspect()'s QMP round trip.
    const pid = await this.runningPid(id);
    if (!pid) return undefined;
    const counters = await processCounters(pid);
    const blockstats = await this.withQmp(id, undefined, (qmp) => qmp.execute<Parameters<typeof diskBytesOf>[0]>('query-blockstats'));
    return { ...counters, disk: diskBytesOf(blockstats) };
  }

  /**
   * What the guest says about itself: the agent (guest-ping, then filesystems and interfaces) and
   * the balloon's memory statistics over QMP. A silent agent gives `{agent: false}` and nothing
   * else: without the agent nothing from inside the guest is trusted, not even the balloon's last
   * numbers (they stay frozen at the guest's last answer).
   */
  async guestReport(id: string): Promise<GuestReport | undefined> {
    const pid = await this.runningPid(id);
    if (!pid) return undefined;
    const vm = await this.runStateAndBalloon(id, pid);
    // A paused guest's agent cannot answer: do not wait for its ping.
    if (!vm.running) return { agent: false };
    let qga: QgaClient | undefined;
    try {
      qga = await QgaClient.connect(this.paths(id).qga, GUEST_PING_TIMEOUT_MS);
      await qga.execute('guest-ping', undefined, GUEST_PING_TIMEOUT_MS);
      const report: GuestReport = { agent: true };
      // A command that fails leaves its field absent (not an empty list that reads as "none").
      const fsinfo = await qga.execute('guest-get-fsinfo', undefined, GUEST_QUERY_TIMEOUT_MS).then(parseFsInfo, () => undefined);
      if (fsinfo) report.filesystems = fsinfo;
      const ifaces = await qga.execute('guest-network-get-interfaces', undefined, GUEST_QUERY_TIMEOUT_MS).then(parseInterfaces, () => undefined);
      if (ifaces) report.interfaces = ifaces;
      if (vm.memory) report.memory = vm.memory;
      return report;
    } catch {
      return { agent: false };
    } finally {
      qga?.close();
    }
  }

  /** The QEMU (pid) whose balloon polling is already on; a new QEMU starts with it off. */
  private readonly balloonPolling = new Map<string, number>();

  /**
   * One QMP session (QMP serves one client at a time) for the run state and the balloon's
   * statistics. An unanswered QMP counts as running, like inspect(); a balloon that does not
   * answer leaves memory absent.
   */
  private async runStateAndBalloon(id: string, pid: number): Promise<{ running: boolean; memory?: GuestReport['memory'] }> {
    try {
      return await this.withQmp(id, QUERY_STATUS_TIMEOUT_MS, (qmp) => this.readRunStateAndBalloon(qmp, id, pid));
    } catch {
      return { running: true };
    }
  }

  private async readRunStateAndBalloon(qmp: QmpClient, id: string, pid: number): Promise<{ running: boolean; memory?: GuestReport['memory'] }> {
    const status = await qmp.execute<{ running: boolean }>('query-status', undefined, QUERY_STATUS_TIMEOUT_MS);
    if (!status.running) return { running: false };
    const path = BALLOON_QOM_PATH;
    if (this.balloonPolling.get(id) !== pid) {
      await qmp.execute('qom-set', { path, property: 'guest-stats-polling-interval', value: BALLOON_POLL_SECONDS }, GUEST_QUERY_TIMEOUT_MS);
      this.balloonPolling.set(id, pid);
    }
    const stats = await qmp.execute('qom-get', { path, property: 'guest-stats' }, GUEST_QUERY_TIMEOUT_MS).catch(() => undefined);
    return { running: true, memory: stats === undefined ? undefined : parseBalloonStats(stats) };
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

  /** The guest's syslog channel (QEMU's chardev server socket; it takes one reader at a time). */
  openSyslogChannel(id: string) {
    return connectSerial(this.paths(id).syslog, SYSLOG_CONNECT_TIMEOUT_MS);
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
    try {
      await this.withQmp(id, undefined, (qmp) => qmp.execute('system_powerdown'));
    } catch {
      return false;
    }
    return waitForExit(pid, timeoutMs);
  }

  private kill(pid: number): Promise<void> {
    return killAndWait(pid);
  }
}

/** How long guestReport() waits for the agent's guest-ping (and its sync) before calling it silent. */
const GUEST_PING_TIMEOUT_MS = 1500;
/** Budget for each of the agent's and QMP's further answers. */
const GUEST_QUERY_TIMEOUT_MS = 3000;
/** The guest sends balloon statistics this often (the metrics collector samples every 5 s). */
const BALLOON_POLL_SECONDS = 2;

/** The balloon of VMs this driver starts (-device virtio-balloon-pci,id=balloon0); the PCI device aliases the stats properties. */
const BALLOON_QOM_PATH = '/machine/peripheral/balloon0';

/** A local socket connects at once or not at all: a short wait, the ingest retries. */
const SYSLOG_CONNECT_TIMEOUT_MS = 2000;

/** How long inspect() waits for QMP's answer about a paused guest. */
const QUERY_STATUS_TIMEOUT_MS = 1500;
