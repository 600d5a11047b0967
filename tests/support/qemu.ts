import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** Kills every QEMU a test's server left under <dataDir>/vms, by its pidfile (never by name). */
export function killQemusUnder(dataDir: string): void {
  const vmsDir = path.join(dataDir, 'vms');
  for (const d of existsSync(vmsDir) ? readdirSync(vmsDir) : []) {
    try {
      process.kill(Number(readFileSync(path.join(vmsDir, d, 'qemu.pid'), 'utf8').trim()), 'SIGKILL');
    } catch {
      /* not running */
    }
  }
}
