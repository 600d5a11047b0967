import { execFileSync } from 'node:child_process';
import { inPrivateNetns } from '../../apps/server/src/test-support/netns.js';

/**
 * Whether this process can use a private libvirtd: inside a network namespace (scripts/test.sh
 * makes one) where qemu:///system answers. Returns why not, or undefined when it can. With
 * TWARGA_TEST_LIBVIRT=1 (set by scripts/test.sh) a missing libvirtd is a failure, not a skip.
 */
export function libvirtUnavailable(): string | undefined {
  let why: string | undefined;
  if (!inPrivateNetns()) why = 'not inside a network namespace made for the tests (run npm test as root)';
  else {
    try {
      execFileSync('virsh', ['-q', '-c', 'qemu:///system', 'version'], { timeout: 10_000, stdio: 'ignore' });
    } catch {
      why = 'no libvirtd answers on qemu:///system';
    }
  }
  if (why && process.env.TWARGA_TEST_LIBVIRT === '1') throw new Error(`libvirt tests required (TWARGA_TEST_LIBVIRT=1) but ${why}`);
  return why;
}

export function virsh(...args: string[]): string {
  return execFileSync('virsh', ['-q', '-c', 'qemu:///system', ...args], { timeout: 30_000, encoding: 'utf8' });
}

/** virsh for cleanup: a failure (a domain already shut off or gone) is not an error. */
export function virshQuietly(...args: string[]): void {
  try {
    virsh(...args);
  } catch {
    /* already in the state we want */
  }
}

/** Runs virsh against one libvirtd: this run's (virsh above) or another's (e.g. PrivateLibvirtd.virsh). */
export type VirshRunner = (...args: string[]) => string;

/** `virsh domstate` of a domain ("running", "shut off"…), or undefined when there is no such domain. */
export function domainState(name: string, run: VirshRunner = virsh): string | undefined {
  try {
    return run('domstate', name).trim();
  } catch (err) {
    if (/failed to get domain|no domain with matching/i.test(String((err as { stderr?: unknown }).stderr))) return undefined;
    throw err;
  }
}

/** The names of a storage pool's volumes ([] when there is no such pool). */
export function volumeNames(pool: string, run: VirshRunner = virsh): string[] {
  try {
    return run('vol-list', pool).split('\n').map((l) => l.trim().split(/\s+/)[0]!).filter(Boolean);
  } catch {
    return [];
  }
}
