import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { QemuDriver } from '../../apps/server/src/compute/qemu/qemu-driver.js';
import { root } from './server.js';

/** The tiny image under test: the built one, or another build (TWARGA_TINY_IMAGE_DIR) before it is swapped in. */
export const TINY_DIR = process.env.TWARGA_TINY_IMAGE_DIR ?? path.join(root, 'images/tiny/dist');

/**
 * A QEMU driver of its own (software emulation) in a fresh temp dir, with an SSH key pair: for
 * tests that boot the tiny image without a server. close() destroys only this lab's VMs (by their
 * pidfiles under its own vmsDir) and removes the dir.
 */
export function tinyLab(name: string) {
  const dir = mkdtempSync(path.join(os.tmpdir(), `twarga-${name}-`));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'key')], { timeout: 30_000 });
  const driver = new QemuDriver({ vmsDir: path.join(dir, 'vms'), accel: async () => 'tcg', stopTimeoutMs: 30_000 });
  return {
    dir,
    driver,
    privateKey: readFileSync(path.join(dir, 'key'), 'utf8'),
    publicKey: readFileSync(path.join(dir, 'key.pub'), 'utf8').trim(),
    async close() {
      for (const id of await driver.list()) await driver.destroy(id).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
