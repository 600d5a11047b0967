import { existsSync } from 'node:fs';
import path from 'node:path';
import { seedFiles } from '../cloudinit/seed-iso.js';
import type { InstanceSpec } from '../compute/driver.js';
import { defaultImageCacheDir } from '../config/config.js';
import { sshExec } from './ssh.js';

/**
 * The Debian 12 image that images/debian/build.sh keeps in the build cache (TWARGA_IMAGE_CACHE,
 * else the same default as the script), for the driver suites that boot it once each.
 */
export const DEBIAN_DIR = path.join(process.env.TWARGA_IMAGE_CACHE || defaultImageCacheDir(), 'debian-12');
export const DEBIAN_DISK = path.join(DEBIAN_DIR, 'disk.qcow2');

/**
 * Why the Debian boot cannot run here, or undefined when the image is built. In CI (env CI set)
 * a missing image is a failure, never a skip: scripts/setup.sh --test builds it there.
 */
export function debianImageMissing(): { reason: string; fail: boolean } | undefined {
  if (existsSync(DEBIAN_DISK)) return undefined;
  return { reason: `the Debian 12 image is not built (${DEBIAN_DISK}; run images/debian/build.sh as root)`, fail: !!process.env.CI };
}

/**
 * Runs a command over SSH, retrying while the guest is still coming up: sshd answers before
 * cloud-init has installed the keys (authentication fails), or not at all yet.
 */
export async function sshWhenReady(opts: { host: string; port: number; username: string; privateKey: string; command: string; timeoutMs: number }): Promise<string> {
  const deadline = Date.now() + opts.timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      // One connection at a time, given two minutes: connections given up early pile up in a
      // starved guest's sshd (OpenSSH forks a process for each) and slow it further.
      return await sshExec({ ...opts, timeoutMs: 150_000, readyTimeoutMs: 120_000 });
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
  throw new Error(`no SSH as ${opts.username}@${opts.host}:${opts.port} within ${opts.timeoutMs} ms: ${(last as Error)?.message}`);
}

/** A driver-level spec of a 1 GB Debian VM booted from the cached image, seeded with one key. */
export function debianSpec(o: { id: string; hostname: string; publicKey: string; diskGb: number }): InstanceSpec {
  return {
    id: o.id,
    hostname: o.hostname,
    memoryMb: 1024,
    vcpus: 1,
    diskGb: o.diskGb,
    sshPort: 0,
    boot: { kind: 'disk', path: DEBIAN_DISK, format: 'qcow2' },
    seed: seedFiles({ instanceId: o.id, hostname: o.hostname, sshAuthorizedKeys: [o.publicKey] }),
    info: { name: o.hostname, os_type: 'debian' },
  };
}
