import { execFileSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';

/**
 * True when this process is not in the host's network namespace: the libvirt and Vagrant tests
 * run only in one the test run made (their guests' bridges must not appear on the host).
 */
export function inPrivateNetns(): boolean {
  try {
    return readlinkSync('/proc/self/ns/net') !== readlinkSync('/proc/1/ns/net');
  } catch {
    // PID 1's namespace is unreadable in some sandboxes: one made by `ip netns add` has a name.
    return execFileSync('ip', ['netns', 'identify', String(process.pid)], { timeout: 10_000, encoding: 'utf8' }).trim() !== '';
  }
}
