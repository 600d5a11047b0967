import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { assertSnapshotId } from '../driver.js';

/**
 * A QEMU snapshot's files, one directory per snapshot under <data>/snapshots:
 *   snap-<id>/disk.qcow2     standalone qcow2 (no backing file: it outlives the instance it came from)
 *   snap-<id>/memory.state   the RAM and device state (memory snapshots only)
 *   snap-<id>/meta.json      what the files are (SnapshotMeta)
 * A snapshot is written into a hidden sibling (.snap-<id>.tmp-*) and renamed into place, so a
 * directory named snap-<id> is always complete.
 */
export function snapshotPaths(snapshotsDir: string, snap: string) {
  assertSnapshotId(snap);
  const dir = path.join(snapshotsDir, snap);
  return { dir, ...filesIn(dir) };
}

/** The same file names inside another directory (the temporary one a snapshot is written into). */
export function filesIn(dir: string) {
  return { disk: path.join(dir, 'disk.qcow2'), memory: path.join(dir, 'memory.state'), meta: path.join(dir, 'meta.json') };
}

/** Temporary and superseded directories of a snapshot: hidden names list() never reports. */
export const tempDirPrefix = (snap: string) => `.${snap}.tmp-`;
export const oldDirPrefix = (snap: string) => `.${snap}.old-`;

export interface SnapshotMeta {
  version: 1;
  snapshot: string;
  /** The instance (vm-<id>) it was taken of. */
  source_instance: string;
  created_at: string;
  /** Whether the guest's filesystems were frozen through the agent while the disk was copied. */
  quiesced: boolean;
  disk: { file: 'disk.qcow2'; bytes: number; virtual_bytes: number };
  /**
   * The RAM state: it only loads into a QEMU of the same version with the same memory size and
   * vCPUs (and the same devices, which the driver's fixed argv gives).
   */
  memory: null | { file: 'memory.state'; bytes: number; sha256: string; memory_mb: number; vcpus: number; qemu_version: string; /** QEMU_ARGS_VERSION of the argv that saved it. */ args_version: number };
  /** disk + memory bytes on the host. */
  size_bytes: number;
}

export async function readMeta(file: string): Promise<SnapshotMeta> {
  const meta = JSON.parse(await readFile(file, 'utf8')) as SnapshotMeta;
  if (meta.version !== 1 || typeof meta.snapshot !== 'string' || !meta.disk) throw new Error(`unreadable snapshot record ${file}`);
  return meta;
}

/** sha256 of a file, streamed (a RAM state is hundreds of MB). */
export async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}
