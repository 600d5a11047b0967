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
