import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { LibvirtDriver } from './libvirt-driver.js';
import { copyTimeoutMs } from './storage-pool.js';
import { ignoreKind, mapDomState, parseDomState } from './virsh.js';

/** Shared kernels, initrds and base images: `shared-<sha256/16>-<file>` (see StoragePool.ensureShared). */
const SHARED_VOLUME = /^shared-[0-9a-f]{16}-(.+)$/;

/** The files a domain definition names (disks, seed, kernel, initrd), in the order they appear. */
export function domainFilePaths(xml: string): string[] {
  return [...xml.matchAll(/<source file=['"]([^'"]+)['"]|<kernel>([^<]+)<\/kernel>|<initrd>([^<]+)<\/initrd>/g)].map((m) => (m[1] ?? m[2] ?? m[3])!);
}

/** The definition with every file moved to its new path (paths are whole attribute or element values). */
export function relocatedDomainXml(xml: string, moves: ReadonlyMap<string, string>): string {
  return xml.replace(/(<source file=['"])([^'"]+)(['"])|(<kernel>|<initrd>)([^<]+)(<\/kernel>|<\/initrd>)/g, (all, a, file, c, open, inner, close) => {
    if (file !== undefined) return `${a}${moves.get(file) ?? file}${c}`;
    return `${open}${moves.get(inner) ?? inner}${close}`;
  });
}

/**
 * Moves a stopped instance from one libvirt host to another, never leaving it half-done:
 * 1. every volume its definition names is copied into the target's pool (downloaded from the
 *    source, uploaded to the target) and read back from the target: its sha256 must match;
 * 2. only then is the source undefined (volumes kept) and the domain defined on the target with
 *    its files' new paths (same uuid and MAC); if that define fails, the source is defined again;
 * 3. the returned function deletes the source's own volumes (shared kernels stay): the caller runs
 *    it once the VM's row names the new host.
 * On any failure before step 2 the source is untouched and the target's copies are deleted.
 * Both hosts may be one libvirtd (two pools): the domain is then redefined in place.
 */
export async function migrateStoppedInstance(
  source: LibvirtDriver,
  target: LibvirtDriver,
  id: string,
): Promise<{ volumes: string[]; removeSourceVolumes: () => Promise<void> }> {
  const name = source.domainName(id);
  if (target.domainName(id) !== name) throw new Error(`hosts name domains differently (${source.namePrefix} vs ${target.namePrefix})`);
  if (source.virsh.uri === target.virsh.uri && source.poolName === target.poolName) throw new Error('source and target are the same host and pool');
  const state = await source.virsh.runIfExists(['domstate', name]);
  if (state === undefined) throw new Error(`libvirt domain ${name} is not defined on the source host`);
  if (mapDomState(parseDomState(state)) !== 'stopped') throw new Error(`libvirt domain ${name} is running: stop it first`);
  const xml = await source.virsh.run(['dumpxml', name, '--inactive']);
  const uuid = /<uuid>([^<]+)<\/uuid>/.exec(xml)?.[1];
  const onTarget = await target.virsh.runIfExists(['domuuid', name]);
  if (onTarget !== undefined && onTarget.trim() !== uuid) throw new Error(`the target host already has another domain named ${name}`);

  const files = domainFilePaths(xml);
  for (const file of files) {
    if (path.posix.dirname(file) !== source.poolDir) throw new Error(`${name} uses ${file}, outside the source pool ${source.poolDir}: cannot copy it`);
  }
  await target.pool.ensure();
  const copied: string[] = [];
  const moves = new Map<string, string>();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'twarga-migrate-'));
  try {
    for (const file of files) {
      const vol = path.posix.basename(file);
      const shared = SHARED_VOLUME.exec(vol);
      const local = path.join(dir, shared ? shared[1]! : vol);
      const { allocation } = await source.pool.info(vol);
      await source.virsh.run(['vol-download', '--pool', source.poolName, vol, local], { timeoutMs: copyTimeoutMs(allocation) });
      if (shared) {
        // Named by its content hash: the same name on the target is the same bytes.
        const targetVol = await target.pool.ensureShared(local, 'raw');
        if (targetVol !== vol) throw new Error(`shared volume ${vol} arrived as ${targetVol}: its content changed`);
      } else {
        await target.pool.remove(vol);
        copied.push(vol);
        await target.pool.upload(vol, local, (await stat(local)).size);
        const back = path.join(dir, `${vol}.check`);
        await target.virsh.run(['vol-download', '--pool', target.poolName, vol, back], { timeoutMs: copyTimeoutMs(allocation) });
        if ((await sha256(back)) !== (await sha256(local))) throw new Error(`the copy of ${vol} on the target differs from the source`);
        await rm(back);
      }
      moves.set(file, await target.pool.path(vol));
      await rm(local);
    }
  } catch (err) {
    for (const vol of copied) await target.pool.remove(vol).catch(() => {});
    throw err;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  // The copies are verified: from here the domain changes hosts.
  await source.virsh.run(['undefine', name, '--managed-save', '--snapshots-metadata']).catch(ignoreKind('not-found'));
  try {
    await target.define(relocatedDomainXml(xml, moves));
  } catch (err) {
    await source.define(xml);
    for (const vol of copied) await target.pool.remove(vol).catch(() => {});
    throw err;
  }
  return {
    volumes: files.map((f) => path.posix.basename(f)),
    removeSourceVolumes: async () => {
      for (const file of files) {
        const vol = path.posix.basename(file);
        if (!SHARED_VOLUME.test(vol)) await source.pool.remove(vol);
      }
    },
  };
}

function sha256(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file).on('data', (d) => hash.update(d)).on('error', reject).on('end', () => resolve(hash.digest('hex')));
  });
}
