import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * Kills every QEMU a test's server left under <dataDir>: its VMs (<dataDir>/vms/<id>/qemu.pid)
 * and its warm-snapshot builds (<dataDir>/warm/build-<key>/vm-0/qemu.pid), by pidfile (never by name).
 */
export function killQemusUnder(dataDir: string): void {
  const vmsDir = path.join(dataDir, 'vms');
  const warmDir = path.join(dataDir, 'warm');
  const pidfiles = [
    ...(existsSync(vmsDir) ? readdirSync(vmsDir) : []).map((d) => path.join(vmsDir, d, 'qemu.pid')),
    ...(existsSync(warmDir) ? readdirSync(warmDir) : []).filter((d) => d.startsWith('build-')).map((d) => path.join(warmDir, d, 'vm-0', 'qemu.pid')),
  ];
  for (const pidfile of pidfiles) {
    try {
      process.kill(Number(readFileSync(pidfile, 'utf8').trim()), 'SIGKILL');
    } catch {
      /* not running */
    }
  }
}
