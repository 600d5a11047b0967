import { rename, rm } from 'node:fs/promises';
import { run } from '../../infra/process.js';

/**
 * qemu-img through run(): the disk operations snapshots, restore, resize and rebuild need. Paths
 * come from validated ids only (instancePaths, snapshotPaths); every call has a timeout.
 */

const GiB = 1024 ** 3;

export interface ImageInfo {
  format: string;
  /** The size the guest sees. */
  virtualBytes: number;
  /** What the file takes on the host (allocated clusters). */
  actualBytes: number;
  /** Set when the image reads through to another file. */
  backing?: string;
}

/**
 * qemu-img info. `shared` (-U) reads an image a running QEMU holds locked; only the header is read,
 * which is consistent even while the guest writes.
 */
export async function imageInfo(file: string, options: { shared?: boolean } = {}): Promise<ImageInfo> {
  const { stdout } = await run('qemu-img', ['info', '--output=json', ...(options.shared ? ['-U'] : []), file], { timeoutMs: 30_000 });
  const info = JSON.parse(stdout) as { format: string; 'virtual-size': number; 'actual-size'?: number; 'backing-filename'?: string; 'full-backing-filename'?: string };
  return {
    format: info.format,
    virtualBytes: info['virtual-size'],
    actualBytes: info['actual-size'] ?? 0,
    ...(info['full-backing-filename'] || info['backing-filename'] ? { backing: info['full-backing-filename'] ?? info['backing-filename'] } : {}),
  };
}

/**
 * A standalone qcow2 copy of `source` (its whole backing chain flattened in, zeros left sparse),
 * written to `target` under a temporary name and renamed into place: `target` is either absent or
 * complete. The source must not be written meanwhile (a stopped instance, or a snapshot's file).
 */
export async function convertToStandalone(source: string, target: string, timeoutMs = COPY_TIMEOUT_MS): Promise<void> {
  const tmp = `${target}.partial`;
  await rm(tmp, { force: true });
  try {
    // -W: clusters written out of order (faster, the result is the same); -m 4: parallel coroutines.
    await run('qemu-img', ['convert', '-q', '-W', '-m', '4', '-O', 'qcow2', source, tmp], { timeoutMs });
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Grows the image to sizeGb when it is smaller; never shrinks. Returns whether it grew. */
export async function growTo(file: string, sizeGb: number): Promise<boolean> {
  const bytes = sizeGb * GiB;
  const { virtualBytes } = await imageInfo(file);
  if (virtualBytes >= bytes) return false;
  await run('qemu-img', ['resize', '-q', file, String(bytes)], { timeoutMs: 60_000 });
  return true;
}

/** A new qcow2 of sizeGb: blank, or reading through to a base image (cloud images). */
export async function createDisk(target: string, sizeGb: number, backing?: { path: string; format: 'qcow2' | 'raw' }): Promise<void> {
  const tmp = `${target}.partial`;
  await rm(tmp, { force: true });
  const backingArgs = backing ? ['-F', backing.format, '-b', backing.path] : [];
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', ...backingArgs, tmp, `${sizeGb}G`], { timeoutMs: 60_000 });
  await rename(tmp, target);
}

export const bytesOfGb = (gb: number) => gb * GiB;

/** A disk copy is bounded by the disk's size; 30 minutes covers tens of GiB on a slow disk. */
const COPY_TIMEOUT_MS = 30 * 60_000;
