import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { InstanceSpec } from '../driver.js';
import { SEED_ISO_BYTES } from '../../cloudinit/seed-iso.js';
import { QEMU_ARGS_VERSION, type Accel } from './args.js';

/** Bump when the warm snapshot's layout or the guest protocol changes: older snapshots become stale. */
export const WARM_FORMAT_VERSION = 2;

/** The data disk a warm snapshot is taken with (and every instant VM starts with, then grown). */
export const WARM_DISK_BYTES = 1024 ** 3;

/** The kernel flag that puts the tiny image in warm mode (waits for its identity, reads no disk). */
export const WARM_CMDLINE_FLAG = 'twarga.warm=1';

/**
 * Everything a saved RAM state depends on: a state only loads into a QEMU of the same version,
 * devices (argv version, RAM, vCPUs, disk and seed sizes) and accelerator, and is only the right
 * guest for the same kernel, initrd and command line. Any change gives another key: a stale
 * snapshot is never used, a new one is built.
 */
export interface WarmKeyInputs {
  format: number;
  argsVersion: number;
  qemuVersion: string;
  accel: Accel;
  memoryMb: number;
  vcpus: number;
  kernelSha256: string;
  initrdSha256: string;
  cmdline: string;
  diskBytes: number;
  seedBytes: number;
}

/** Which warm snapshots replace each other: the same image files and shape (whatever their contents). */
export interface WarmShape {
  kernel: string;
  initrd: string;
  memoryMb: number;
  vcpus: number;
}

export const warmKeyOf = (inputs: WarmKeyInputs) => createHash('sha256').update(JSON.stringify(inputs)).digest('hex').slice(0, 24);

export function shapeOf(spec: InstanceSpec): WarmShape | undefined {
  if (spec.boot.kind !== 'kernel') return undefined;
  return { kernel: spec.boot.kernel, initrd: spec.boot.initrd, memoryMb: spec.memoryMb, vcpus: spec.vcpus };
}

export const sameShape = (a: WarmShape, b: WarmShape) => a.kernel === b.kernel && a.initrd === b.initrd && a.memoryMb === b.memoryMb && a.vcpus === b.vcpus;

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Checksums of the image's boot files, recomputed only when a file's size or mtime changed: the
 * key is computed on every instant create, and hashing 14 MB each time would cost ~30 ms.
 */
export class FileChecksums {
  private readonly known = new Map<string, { size: number; mtimeMs: number; sha256: string }>();

  async of(file: string): Promise<string> {
    const st = await stat(file);
    const cached = this.known.get(file);
    if (cached && cached.size === st.size && cached.mtimeMs === st.mtimeMs) return cached.sha256;
    const sha256 = await sha256File(file);
    this.known.set(file, { size: st.size, mtimeMs: st.mtimeMs, sha256 });
    return sha256;
  }
}

export async function warmKeyInputs(spec: InstanceSpec, env: { qemuVersion: string; accel: Accel; checksums: FileChecksums }): Promise<WarmKeyInputs | undefined> {
  if (spec.boot.kind !== 'kernel') return undefined;
  const [kernelSha256, initrdSha256] = await Promise.all([env.checksums.of(spec.boot.kernel), env.checksums.of(spec.boot.initrd)]);
  return {
    format: WARM_FORMAT_VERSION,
    argsVersion: QEMU_ARGS_VERSION,
    qemuVersion: env.qemuVersion,
    accel: env.accel,
    memoryMb: spec.memoryMb,
    vcpus: spec.vcpus,
    kernelSha256,
    initrdSha256,
    cmdline: spec.boot.cmdline,
    diskBytes: WARM_DISK_BYTES,
    seedBytes: SEED_ISO_BYTES,
  };
}
