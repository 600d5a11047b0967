import { execFileSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';

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

/** True when this process is not in the root network namespace. */
export function inPrivateNetns(): boolean {
  try {
    return readlinkSync('/proc/self/ns/net') !== readlinkSync('/proc/1/ns/net');
  } catch {
    // PID 1's namespace is unreadable in some sandboxes: one made by `ip netns add` has a name.
    return execFileSync('ip', ['netns', 'identify', String(process.pid)], { timeout: 10_000, encoding: 'utf8' }).trim() !== '';
  }
}

export function virsh(...args: string[]): string {
  return execFileSync('virsh', ['-q', '-c', 'qemu:///system', ...args], { timeout: 30_000, encoding: 'utf8' });
}
