import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../../infra/fs.js';
import { run } from '../../infra/process.js';
import { SNAPSHOT_ID_PATTERN, type InstanceSpec, type SnapshotResult } from '../driver.js';
import { QEMU_ARGS_VERSION } from './args.js';
import { syncGuestClock } from './guest-clock.js';
import { freezeGuest } from './guest-freeze.js';
import type { QemuInstanceHost } from './instance-host.js';
import { driveOf, startBackup, waitForBackup } from './live-backup.js';
import { loadState, saveState } from './migration.js';
import { convertToStandalone, growTo, imageInfo } from './qemu-img.js';
import type { QmpClient } from './qmp-client.js';
import { filesIn, oldDirPrefix, readMeta, sha256Of, snapshotPaths, tempDirPrefix, type SnapshotMeta } from './snapshot-files.js';

/** A snapshot that cannot be used as asked (missing files, a RAM state that does not fit): the message says why. */
export class SnapshotError extends Error {}

/**
 * Snapshots of QEMU instances under <data>/snapshots/snap-<id>/ (see snapshot-files.ts). The disk
 * copy is always a standalone qcow2: a snapshot never depends on its instance's disk, so it
 * survives the instance, and instances made from it never depend on it.
 */
export class QemuSnapshots {
  constructor(
    private readonly host: QemuInstanceHost,
    private readonly dir: string,
  ) {}

  /** The disk file of a snapshot (for a new instance's disk); a clear error when it is not here. */
  diskOf(snap: string): string {
    const sp = snapshotPaths(this.dir, snap);
    if (!existsSync(sp.disk)) throw new SnapshotError(`snapshot ${snap} has no disk file on this host`);
    return sp.disk;
  }

  /** A new instance's disk: a standalone copy of the snapshot's disk at `target`, grown to sizeGb. */
  async copyDiskTo(snap: string, target: string, sizeGb: number): Promise<void> {
    await convertToStandalone(this.diskOf(snap), target);
    await growTo(target, sizeGb);
  }

  async create(id: string, snap: string, options: { memory: boolean }): Promise<SnapshotResult> {
    const p = this.host.paths(id);
    const sp = snapshotPaths(this.dir, snap);
    const state = await this.host.inspect(id);
    if (state.state === 'missing') throw new SnapshotError(`instance ${id} does not exist`);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await this.removeLeftovers(snap);
    const tmpDir = await mkdtemp(path.join(this.dir, tempDirPrefix(snap)));
    const tmp = filesIn(tmpDir);
    try {
      let quiesced = false;
      let memory: SnapshotMeta['memory'] = null;
      if (state.state !== 'running') {
        await convertToStandalone(p.disk, tmp.disk);
      } else if (options.memory) {
        const spec = JSON.parse(await readFile(p.spec, 'utf8')) as InstanceSpec;
        memory = await this.host.withQmp(id, undefined, (qmp) => this.copyWithMemory(qmp, p.disk, tmp, spec, Boolean(state.paused)));
      } else {
        quiesced = await this.host.withQmp(id, undefined, (qmp) => this.copyLive(qmp, p.disk, p.qga, tmp.disk, Boolean(state.paused)));
      }
      const diskBytes = (await stat(tmp.disk)).size;
      const { virtualBytes } = await imageInfo(tmp.disk);
      const meta: SnapshotMeta = {
        version: 1,
        snapshot: snap,
        source_instance: id,
        created_at: new Date().toISOString(),
        quiesced,
        disk: { file: 'disk.qcow2', bytes: diskBytes, virtual_bytes: virtualBytes },
        memory,
        size_bytes: diskBytes + (memory?.bytes ?? 0),
      };
      await writeFileAtomic(tmp.meta, JSON.stringify(meta, null, 2) + '\n');
      await this.putInPlace(tmpDir, sp.dir, snap);
      return { sizeBytes: meta.size_bytes, memory: memory !== null, quiesced };
    } catch (err) {
      await rm(tmpDir, { recursive: true, force: true });
      throw err;
    }
  }

  /**
   * A running guest's disk: frozen through the agent (when it answers) just long enough for the
   * backup job to start, which fixes the point in time; the copy itself runs with the guest thawed.
   */
  private async copyLive(qmp: QmpClient, disk: string, qga: string, target: string, paused: boolean): Promise<boolean> {
    const device = await driveOf(qmp, disk);
    // A paused guest's agent cannot answer: do not wait for it.
    const freeze = paused ? undefined : await freezeGuest(qga);
    try {
      await startBackup(qmp, device, target, BACKUP_JOB);
    } finally {
      await freeze?.thaw();
    }
    await waitForBackup(qmp, BACKUP_JOB, COPY_TIMEOUT_MS);
    return (freeze?.frozen ?? 0) > 0;
  }

  /**
   * RAM and disk as one consistent pair: the guest is paused (QMP stop) while its disk is copied
   * and its RAM saved, then runs on (unless it was paused before). Not quiesced: the saved RAM
   * holds the guest's page cache, which matches the disk exactly; a frozen filesystem would be
   * saved frozen.
   */
  private async copyWithMemory(qmp: QmpClient, disk: string, tmp: ReturnType<typeof filesIn>, spec: InstanceSpec, paused: boolean): Promise<NonNullable<SnapshotMeta['memory']>> {
    const version = await qemuVersion(qmp);
    const device = await driveOf(qmp, disk);
    await qmp.execute('stop');
    let bytes: number;
    try {
      await startBackup(qmp, device, tmp.disk, BACKUP_JOB);
      await waitForBackup(qmp, BACKUP_JOB, COPY_TIMEOUT_MS);
      // After the save the block devices are handed over ('postmigrate'); cont takes them back.
      bytes = (await saveState(qmp, tmp.memory, { within: this.dir, timeoutMs: STATE_TIMEOUT_MS })).bytes;
    } finally {
      if (!paused) await qmp.execute('cont');
    }
    // Checksummed with the guest running again: hashing hundreds of MB should not lengthen the pause.
    return { file: 'memory.state', bytes, sha256: await sha256Of(tmp.memory), memory_mb: spec.memoryMb, vcpus: spec.vcpus, qemu_version: version, args_version: QEMU_ARGS_VERSION };
  }

  async restore(id: string, snap: string): Promise<{ running: boolean }> {
    const sp = snapshotPaths(this.dir, snap);
    const meta = await this.metaOf(snap);
    const p = this.host.paths(id);
    if ((await this.host.inspect(id)).state === 'missing') throw new SnapshotError(`instance ${id} does not exist`);
    const spec = JSON.parse(await readFile(p.spec, 'utf8')) as InstanceSpec;
    if (meta.memory) {
      const why = memoryMismatch(meta.memory, spec);
      if (why) throw new SnapshotError(`the RAM state of ${snap} cannot be loaded into ${id}: ${why}`);
      const installed = await installedQemuVersion(this.host.qemuBinary);
      if (installed && installed !== meta.memory.qemu_version) throw new SnapshotError(`the RAM state of ${snap} was saved by QEMU ${meta.memory.qemu_version}, this host runs QEMU ${installed}`);
      if ((await sha256Of(sp.memory)) !== meta.memory.sha256) throw new SnapshotError(`the RAM state of ${snap} is damaged (checksum mismatch)`);
    }
    // Copy first (a snapshot's files never change): the instance is down only for the swap.
    const staged = `${p.disk}.restore`;
    try {
      await convertToStandalone(sp.disk, staged);
      // The snapshot's content at the instance's size (a resize after the snapshot keeps its disk).
      await growTo(staged, spec.diskGb);
      await this.host.stop(id, { force: true });
      await rename(staged, p.disk);
    } finally {
      await rm(staged, { force: true });
    }
    if (!meta.memory) return { running: false };
    const memory = meta.memory;
    await this.host.launch(id, { incoming: true });
    try {
      await this.host.withQmp(id, undefined, async (qmp) => {
        const version = await qemuVersion(qmp);
        if (version !== memory.qemu_version) throw new SnapshotError(`it was saved by QEMU ${memory.qemu_version}, this is QEMU ${version}`);
        await loadState(qmp, sp.memory, { within: this.dir, timeoutMs: STATE_TIMEOUT_MS });
        await qmp.execute('cont');
      });
    } catch (err) {
      // Leave it stopped (on the snapshot's disk) rather than paused forever waiting for a state.
      await this.host.stop(id, { force: true });
      throw new SnapshotError(`the RAM state of ${snap} could not be loaded: ${(err as Error).message}`, { cause: err });
    }
    // The guest resumes believing no time passed since the save: set its clock (best effort).
    await syncGuestClock(p.qga);
    return { running: true };
  }

  async remove(snap: string): Promise<void> {
    const sp = snapshotPaths(this.dir, snap);
    await this.removeLeftovers(snap);
    await rm(sp.dir, { recursive: true, force: true });
  }

  async list(): Promise<string[]> {
    const entries = await readdir(this.dir).catch(() => [] as string[]);
    return entries.filter((e) => SNAPSHOT_ID_PATTERN.test(e));
  }

  private async metaOf(snap: string): Promise<SnapshotMeta> {
    const sp = snapshotPaths(this.dir, snap);
    if (!existsSync(sp.meta) || !existsSync(sp.disk)) throw new SnapshotError(`snapshot ${snap} has no files on this host`);
    const meta = await readMeta(sp.meta);
    if (meta.memory && !existsSync(sp.memory)) throw new SnapshotError(`snapshot ${snap} has lost its RAM state file`);
    return meta;
  }

  /** Renames the finished temporary directory into place, replacing an earlier snapshot of that name. */
  private async putInPlace(tmpDir: string, finalDir: string, snap: string): Promise<void> {
    if (existsSync(finalDir)) {
      const old = `${path.join(this.dir, oldDirPrefix(snap))}${Date.now()}`;
      await rename(finalDir, old);
      await rename(tmpDir, finalDir);
      await rm(old, { recursive: true, force: true });
    } else {
      await rename(tmpDir, finalDir);
    }
  }

  /** Temporary and superseded directories a crash left behind for this snapshot. */
  private async removeLeftovers(snap: string): Promise<void> {
    for (const e of await readdir(this.dir).catch(() => [] as string[])) {
      if (e.startsWith(tempDirPrefix(snap)) || e.startsWith(oldDirPrefix(snap))) await rm(path.join(this.dir, e), { recursive: true, force: true });
    }
  }
}

/** Why a saved RAM state does not fit this instance's shape, or undefined when it does. */
export function memoryMismatch(memory: NonNullable<SnapshotMeta['memory']>, spec: Pick<InstanceSpec, 'memoryMb' | 'vcpus'>): string | undefined {
  if (memory.memory_mb !== spec.memoryMb || memory.vcpus !== spec.vcpus) {
    return `it was saved with ${memory.memory_mb} MB and ${memory.vcpus} vCPU(s), the instance now has ${spec.memoryMb} MB and ${spec.vcpus} vCPU(s)`;
  }
  if (memory.args_version !== QEMU_ARGS_VERSION) return `the VM's device set changed since it was saved (version ${memory.args_version}, now ${QEMU_ARGS_VERSION})`;
  return undefined;
}

/** x.y.z of `qemu-system-x86_64 --version`, undefined when it does not say. */
async function installedQemuVersion(binary: string): Promise<string | undefined> {
  const { stdout } = await run(binary, ['--version'], { timeoutMs: 10_000 });
  return /version (\d+\.\d+\.\d+)/.exec(stdout)?.[1];
}

async function qemuVersion(qmp: QmpClient): Promise<string> {
  const v = await qmp.execute<{ qemu: { major: number; minor: number; micro: number } }>('query-version');
  return `${v.qemu.major}.${v.qemu.minor}.${v.qemu.micro}`;
}

/** One backup job per QEMU at a time (the instance's lock and QMP turn serialise them). */
const BACKUP_JOB = 'twarga-snapshot';
const COPY_TIMEOUT_MS = 30 * 60_000;
const STATE_TIMEOUT_MS = 5 * 60_000;
