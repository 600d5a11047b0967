import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { assertSnapshotId, SNAPSHOT_ID_PATTERN, type SnapshotResult } from '../driver.js';
import { xmlEscape } from './domain-xml.js';
import { copyTimeoutMs, type StoragePool } from './storage-pool.js';
import { ignoreKind, parseDomState, parseKeyValues, parseVolList, VirshError, type Virsh } from './virsh.js';

/** What the snapshot code needs of the driver (no reaching into its internals). */
export interface LibvirtSnapshotHost {
  readonly virsh: Virsh;
  readonly pool: StoragePool;
  readonly namePrefix: string;
  domainName(id: string): string;
}

/** Volume names of a snapshot: its flattened disk copy and, for a memory snapshot, libvirt's save image. */
export function snapshotVolumes(prefix: string, snap: string): { disk: string; memory: string } {
  assertSnapshotId(snap);
  return { disk: `${prefix}${snap}-disk.qcow2`, memory: `${prefix}${snap}-memory.save` };
}

/** Snapshot ids whose disk volume is in a `vol-list` of the pool (ours: our prefix). Pure. */
export function snapshotIdsInVolList(prefix: string, volList: string): string[] {
  const ids: string[] = [];
  for (const { name } of parseVolList(volList)) {
    if (!name.startsWith(prefix) || !name.endsWith('-disk.qcow2')) continue;
    const snap = name.slice(prefix.length, -'-disk.qcow2'.length);
    if (SNAPSHOT_ID_PATTERN.test(snap)) ids.push(snap);
  }
  return ids.sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
}

/**
 * The <domainbackup> for `virsh backup-begin`: a push-mode full backup of vda into a new qcow2
 * file (a flattened point-in-time copy: QEMU copies each block before the guest overwrites it),
 * nothing of the read-only seed. Pure.
 */
export function backupXml(targetFile: string, disk = 'vda', skip: string[] = ['vdb']): string {
  return [
    `<domainbackup mode='push'>`,
    `  <disks>`,
    `    <disk name='${xmlEscape(disk)}' backup='yes' type='file'>`,
    `      <driver type='qcow2'/>`,
    `      <target file='${xmlEscape(targetFile)}'/>`,
    `    </disk>`,
    ...skip.map((d) => `    <disk name='${xmlEscape(d)}' backup='no'/>`),
    `  </disks>`,
    `</domainbackup>`,
    '',
  ].join('\n');
}

/** `virsh domjobinfo [--completed]` → 'none' | 'running' | 'completed' | 'failed' | 'cancelled'. Pure. */
export function parseJobState(stdout: string): 'none' | 'running' | 'completed' | 'failed' | 'cancelled' {
  const type = (parseKeyValues(stdout)['job type'] ?? 'none').toLowerCase();
  if (type === 'none') return 'none';
  if (type === 'completed') return 'completed';
  if (type === 'failed') return 'failed';
  if (type === 'cancelled') return 'cancelled';
  return 'running'; // bounded, unbounded
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Snapshots of libvirt domains as volumes of the host's pool (so they work on a remote host and
 * survive the instance's destroy): `<prefix><snap>-disk.qcow2` is a flattened copy of the disk;
 * `<prefix><snap>-memory.save` (memory snapshots) is a `virsh save` image written into the pool's
 * directory. No libvirt snapshot metadata is used: the volumes are the snapshot.
 * - stopped domain: `vol-create-from` (qemu-img convert) of the disk volume.
 * - running, disk only: fsfreeze through the guest agent (when it answers), `backup-begin` (a
 *   point-in-time push backup of vda into the pool's directory), thaw as soon as the job started,
 *   wait for the job.
 * - running, with memory: `virsh save` (RAM to the pool, the domain stops: its disk is then
 *   consistent with the RAM), copy the disk, `virsh restore` (the domain runs on from where it was).
 */
export class LibvirtSnapshots {
  constructor(private readonly host: LibvirtSnapshotHost) {}

  private get virsh() {
    return this.host.virsh;
  }

  private get pool() {
    return this.host.pool;
  }

  async create(id: string, snap: string, options: { memory: boolean }): Promise<SnapshotResult> {
    const name = this.host.domainName(id);
    const vols = snapshotVolumes(this.host.namePrefix, snap);
    const diskVol = `${name}-disk.qcow2`;
    const state = await this.rawState(name);
    if (state === undefined) throw new Error(`libvirt domain ${name} is not defined`);
    await this.pool.ensure();
    // Safe to call again: a new snapshot replaces whatever an earlier attempt left.
    await this.pool.remove(vols.disk);
    await this.pool.remove(vols.memory);
    let memory = false;
    let quiesced = false;
    if (state === 'shut off' || state === 'crashed') {
      await this.pool.clone(diskVol, vols.disk);
    } else if (options.memory) {
      await this.saveWithMemory(name, diskVol, vols, state === 'paused');
      memory = true;
    } else {
      quiesced = await this.backupRunning(name, vols.disk);
    }
    let sizeBytes = (await this.pool.info(vols.disk)).allocation;
    if (memory) sizeBytes += (await this.pool.info(vols.memory)).allocation;
    return { sizeBytes, memory, quiesced };
  }

  async restore(id: string, snap: string): Promise<{ running: boolean }> {
    const name = this.host.domainName(id);
    const vols = snapshotVolumes(this.host.namePrefix, snap);
    const diskVol = `${name}-disk.qcow2`;
    const state = await this.rawState(name);
    if (state === undefined) throw new Error(`libvirt domain ${name} is not defined`);
    if (!(await this.pool.exists(vols.disk))) throw new Error(`snapshot ${snap} has no disk volume in the libvirt pool ${this.pool.name} of this host`);
    const memory = await this.pool.exists(vols.memory);
    if (state !== 'shut off' && state !== 'crashed') {
      await this.virsh.run(['destroy', name], { timeoutMs: 60_000 }).catch(ignoreKind('not-running'));
    }
    // The disk keeps today's size if it grew since the snapshot (a resize is not undone).
    const capacity = (await this.pool.exists(diskVol)) ? (await this.pool.info(diskVol)).capacity : 0;
    await this.pool.clone(vols.disk, diskVol, capacity);
    if (!memory) return { running: false };
    await this.virsh.run(['restore', await this.pool.path(vols.memory), '--running'], { timeoutMs: 300_000 });
    return { running: true };
  }

  async remove(snap: string): Promise<void> {
    const vols = snapshotVolumes(this.host.namePrefix, snap);
    if ((await this.virsh.runIfExists(['pool-info', this.pool.name])) === undefined) return;
    await this.pool.remove(vols.memory);
    await this.pool.remove(vols.disk);
  }

  async list(): Promise<string[]> {
    const out = await this.virsh.runIfExists(['vol-list', '--pool', this.pool.name]);
    return snapshotIdsInVolList(this.host.namePrefix, out ?? '');
  }

  /** libvirt's state word of the domain ('running', 'paused', 'shut off'…), undefined when not defined. */
  private async rawState(name: string): Promise<string | undefined> {
    const out = await this.virsh.runIfExists(['domstate', name]);
    return out === undefined ? undefined : parseDomState(out);
  }

  /** The pool's directory on the libvirt host, from where an existing volume lives. */
  private async poolDir(anyVolume: string): Promise<string> {
    return path.posix.dirname(await this.pool.path(anyVolume));
  }

  private async saveWithMemory(name: string, diskVol: string, vols: { disk: string; memory: string }, paused: boolean): Promise<void> {
    const file = path.posix.join(await this.poolDir(diskVol), vols.memory);
    await this.virsh.run(['save', name, file, paused ? '--paused' : '--running'], { timeoutMs: 300_000 });
    // The domain is shut off now, its RAM in `file`: put it back running whatever the copy does.
    try {
      await this.pool.refresh();
      await this.pool.clone(diskVol, vols.disk);
    } finally {
      await this.virsh.run(['restore', file, paused ? '--paused' : '--running'], { timeoutMs: 300_000 });
    }
  }

  /** A point-in-time copy of a running domain's disk; true when the guest's filesystems were frozen for it. */
  private async backupRunning(name: string, targetVol: string): Promise<boolean> {
    const { allocation } = await this.pool.info(`${name}-disk.qcow2`);
    const target = path.posix.join(await this.poolDir(`${name}-disk.qcow2`), targetVol);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'twarga-libvirt-backup-'));
    let frozen = false;
    try {
      const xmlFile = path.join(dir, 'backup.xml');
      await writeFile(xmlFile, backupXml(target), { mode: 0o600 });
      // No agent (or an agent without fsfreeze): the copy is still point-in-time, like a power cut.
      frozen = await this.virsh.run(['domfsfreeze', name], { timeoutMs: 30_000 }).then(() => true, () => false);
      try {
        await this.virsh.run(['backup-begin', name, xmlFile], { timeoutMs: 60_000 });
      } finally {
        if (frozen) await this.virsh.run(['domfsthaw', name], { timeoutMs: 30_000 }).catch(() => {});
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    try {
      await this.waitForJob(name, copyTimeoutMs(allocation));
      await this.pool.refresh();
    } catch (err) {
      await this.virsh.run(['domjobabort', name]).catch(() => {});
      await this.pool.refresh().catch(() => {});
      await this.pool.remove(targetVol).catch(() => {});
      throw err;
    }
    return frozen;
  }

  private async waitForJob(name: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const active = parseJobState(await this.virsh.run(['domjobinfo', name]));
      if (active === 'none') break;
      if (Date.now() > deadline) throw new Error(`the backup of ${name} did not finish within ${Math.round(timeoutMs / 1000)} s`);
      await sleep(250);
    }
    const done = await this.virsh.run(['domjobinfo', name, '--completed']).then(parseJobState, (err: unknown) => {
      if (err instanceof VirshError) return 'none' as const;
      throw err;
    });
    if (done === 'failed' || done === 'cancelled') throw new Error(`the backup of ${name} ${done}`);
  }
}
