import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { writeSeedIso } from '../../cloudinit/seed-iso.js';
import type { InstanceSpec } from '../driver.js';
import { ignoreKind, parseKeyValues, parseVolInfo, type Virsh } from './virsh.js';

/** Shared-volume uploads in flight, by pool/volume: concurrent creates wait for one upload. */
const sharedUploads = new Map<string, Promise<string>>();

/**
 * The dir storage pool that holds every file a domain uses, as volumes (so a remote libvirt
 * host needs no shared filesystem): per-instance disks and seeds, and shared kernels, initrds
 * and base images uploaded once.
 */
export class StoragePool {
  /** sha256 prefixes of local files, by path + size + mtime. */
  private readonly hashes = new Map<string, string>();

  constructor(
    private readonly virsh: Virsh,
    readonly name: string,
    readonly dir: string,
  ) {}

  /** The dir pool exists, is built, started and autostarts (idempotent). */
  async ensure(): Promise<void> {
    const p = this.name;
    let info = await this.virsh.runIfExists(['pool-info', p]);
    if (info === undefined) {
      await this.virsh.run(['pool-define-as', '--name', p, '--type', 'dir', '--target', this.dir]).catch(async (err) => {
        if ((await this.virsh.runIfExists(['pool-info', p])) === undefined) throw err; // lost a race: fine
      });
      await this.virsh.run(['pool-build', p]).catch(() => {});
      await this.virsh.run(['pool-autostart', p]).catch(() => {});
      info = await this.virsh.run(['pool-info', p]);
    }
    if (parseKeyValues(info).state !== 'running') {
      await this.virsh.run(['pool-start', p]).catch(async (err) => {
        if (parseKeyValues(await this.virsh.run(['pool-info', p])).state === 'running') return;
        await this.virsh.run(['pool-build', p]);
        await this.virsh.run(['pool-start', p]).catch(() => { throw err; });
      });
    }
  }

  async exists(vol: string): Promise<boolean> {
    return (await this.virsh.runIfExists(['vol-info', '--pool', this.name, vol, '--bytes'])) !== undefined;
  }

  async path(vol: string): Promise<string> {
    return (await this.virsh.run(['vol-path', '--pool', this.name, vol])).trim();
  }

  async remove(vol: string): Promise<void> {
    await this.virsh.run(['vol-delete', '--pool', this.name, vol], { timeoutMs: 120_000 }).catch(ignoreKind('not-found'));
  }

  /** Creates a volume and uploads a local file into it (deleted again if the upload fails). */
  async upload(vol: string, file: string, size: number): Promise<void> {
    await this.virsh.run(['vol-create-as', this.name, vol, String(Math.max(size, 1)), '--format', 'raw']);
    try {
      await this.virsh.run(['vol-upload', '--pool', this.name, vol, file], { timeoutMs: 120_000 + Math.ceil(size / 1_000_000) * 1_000 });
    } catch (err) {
      await this.remove(vol).catch(() => {});
      throw err;
    }
  }

  /** A read-only volume with a local file's content, shared by every instance that uses the file. */
  async ensureShared(file: string, format: 'raw' | 'qcow2'): Promise<string> {
    const st = await stat(file);
    const key = `${file}:${st.size}:${st.mtimeMs}`;
    let hash = this.hashes.get(key);
    if (!hash) {
      hash = await sha256File(file);
      this.hashes.set(key, hash);
    }
    const vol = `shared-${hash.slice(0, 16)}-${path.basename(file).replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 60)}`;
    // Process-wide: two hosts may be two connections to one libvirtd (and so one pool).
    const uploadKey = `${this.name}/${vol}`;
    let inflight = sharedUploads.get(uploadKey);
    if (!inflight) {
      inflight = (async () => {
        const out = await this.virsh.runIfExists(['vol-info', '--pool', this.name, vol, '--bytes']);
        if (out !== undefined) {
          // libvirt reports a qcow2's virtual size as capacity; a complete upload is fully allocated.
          const { capacity, allocation } = parseVolInfo(out);
          if (allocation >= st.size && (format !== 'raw' || capacity === st.size)) return vol;
          await this.remove(vol);
        }
        await this.upload(vol, file, st.size);
        return vol;
      })().finally(() => sharedUploads.delete(uploadKey));
      sharedUploads.set(uploadKey, inflight);
    }
    return inflight;
  }

  /** Capacity (virtual size) and allocation (bytes on the host) of a volume. */
  async info(vol: string): Promise<{ capacity: number; allocation: number }> {
    return parseVolInfo(await this.virsh.run(['vol-info', '--pool', this.name, vol, '--bytes']));
  }

  /** Makes libvirt see files written into the pool's directory behind its back (virsh save, backup-begin). */
  async refresh(): Promise<void> {
    await this.virsh.run(['pool-refresh', this.name], { timeoutMs: 60_000 });
  }

  /**
   * A new qcow2 volume with the content of another (`vol-create-from`, i.e. `qemu-img convert`):
   * flattened, so it does not depend on the source or the source's backing image. Grown to
   * minCapacity when the source is smaller. Replaces an existing target.
   */
  async clone(source: string, target: string, minCapacity = 0): Promise<void> {
    const { capacity, allocation } = await this.info(source);
    await this.remove(target);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'twarga-libvirt-vol-'));
    try {
      const xmlFile = path.join(dir, 'volume.xml');
      await writeFile(xmlFile, cloneVolumeXml(target, capacity), { mode: 0o600 });
      await this.virsh.run(['vol-create-from', this.name, xmlFile, source, '--inputpool', this.name], { timeoutMs: copyTimeoutMs(allocation) });
    } catch (err) {
      await this.remove(target).catch(() => {});
      throw err;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    if (minCapacity > capacity) await this.grow(target, minCapacity);
  }

  /** Grows a volume to `bytes` (never shrinks: a smaller size is left alone). */
  async grow(vol: string, bytes: number): Promise<void> {
    if ((await this.info(vol)).capacity >= bytes) return;
    await this.virsh.run(['vol-resize', '--pool', this.name, vol, String(bytes)], { timeoutMs: 120_000 });
  }

  /**
   * The instance's qcow2 disk: blank (kernel boot), an overlay of the image volume (disk boot),
   * or a flattened copy of fromVolume (a snapshot's disk), grown to the spec's size.
   */
  async ensureDisk(name: string, spec: InstanceSpec, fromVolume?: string): Promise<string> {
    const vol = `${name}-disk.qcow2`;
    if (fromVolume !== undefined) {
      if (!(await this.exists(vol))) await this.clone(fromVolume, vol);
      await this.grow(vol, spec.diskGb * 1024 ** 3);
    } else if (!(await this.exists(vol))) {
      let capacity = spec.diskGb * 1024 ** 3;
      const args = ['vol-create-as', this.name, vol];
      const extra: string[] = ['--format', 'qcow2'];
      if (spec.boot.kind === 'disk') {
        const base = await this.ensureShared(spec.boot.path, spec.boot.format);
        const baseInfo = parseVolInfo(await this.virsh.run(['vol-info', '--pool', this.name, base, '--bytes']));
        capacity = Math.max(capacity, baseInfo.capacity);
        extra.push('--backing-vol', await this.path(base), '--backing-vol-format', spec.boot.format);
      }
      await this.virsh.run([...args, String(capacity), ...extra], { timeoutMs: 120_000 });
    }
    return this.path(vol);
  }

  async uploadSeed(vol: string, seed: InstanceSpec['seed']): Promise<string> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'twarga-libvirt-seed-'));
    try {
      const iso = path.join(dir, 'seed.iso');
      await writeSeedIso(iso, seed);
      await this.remove(vol);
      await this.upload(vol, iso, (await stat(iso)).size);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    return this.path(vol);
  }
}

/** The XML of a standalone qcow2 volume for `vol-create-from` (no backingStore: the copy is flattened). Pure. */
export function cloneVolumeXml(name: string, capacityBytes: number): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.+-]*$/.test(name)) throw new Error(`invalid volume name: ${JSON.stringify(name)}`);
  return [
    '<volume>',
    `  <name>${name}</name>`,
    `  <capacity unit='bytes'>${Math.max(1, Math.floor(capacityBytes))}</capacity>`,
    `  <target><format type='qcow2'/></target>`,
    '</volume>',
    '',
  ].join('\n');
}

/** A copy's time budget: 2 minutes plus 1 s per 10 MB (a slow remote disk, a busy host). */
export function copyTimeoutMs(bytes: number): number {
  return 120_000 + Math.ceil(bytes / 10_000_000) * 1_000;
}

function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (d) => hash.update(d))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}
