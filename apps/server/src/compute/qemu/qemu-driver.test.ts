import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sshExec, waitForSshBanner } from '../../test-support/ssh.js';
import { seedFiles } from '../../cloudinit/seed-iso.js';
import type { InstanceSpec } from '../driver.js';
import { QemuDriver } from './qemu-driver.js';

/** Alive and not a zombie (this sandbox's PID 1 may not reap daemonized children). */
function processAlive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

const tiny = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../../images/tiny/dist');

/** The real thing: QEMU (software emulation) booting the built-in tiny image. */
describe('QEMU driver with the tiny image', () => {
  let dir: string;
  let driver: QemuDriver;
  let privateKey: string;
  let spec: InstanceSpec;

  before(() => {
    assert.ok(existsSync(path.join(tiny, 'vmlinuz')), 'tiny image built (scripts/setup.sh)');
    dir = mkdtempSync(path.join(os.tmpdir(), 'twarga-qemu-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'key')]);
    privateKey = readFileSync(path.join(dir, 'key'), 'utf8');
    driver = new QemuDriver({ vmsDir: path.join(dir, 'vms'), accel: async () => 'tcg', stopTimeoutMs: 30_000 });
    const port = 24000 + Math.floor(Math.random() * 1000);
    spec = {
      id: 'vm-1',
      hostname: 'driver-test',
      memoryMb: 256,
      vcpus: 1,
      diskGb: 1,
      sshPort: port,
      boot: { kind: 'kernel', kernel: path.join(tiny, 'vmlinuz'), initrd: path.join(tiny, 'initrd.img'), cmdline: 'console=ttyS0 panic=-1' },
      seed: seedFiles({ instanceId: 'vm-1', hostname: 'driver-test', sshAuthorizedKeys: [readFileSync(path.join(dir, 'key.pub'), 'utf8').trim()] }),
      info: { name: 'driver-test' },
    };
  });
  after(async () => {
    await driver.destroy('vm-1').catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  test('create is idempotent and writes disk, seed and record', async () => {
    await driver.create(spec);
    await driver.create(spec);
    assert.equal((await driver.inspect('vm-1')).state, 'stopped');
    assert.deepEqual(await driver.list(), ['vm-1']);
    assert.ok(existsSync(path.join(dir, 'vms/vm-1/.vm_info')));
  });

  test('start boots to SSH with the seeded key; /data survives a graceful stop and start', async () => {
    await driver.start('vm-1');
    const running = await driver.inspect('vm-1');
    assert.equal(running.state, 'running');
    await waitForSshBanner(spec.sshPort);
    const out = await sshExec({ port: spec.sshPort, privateKey, command: 'uname -a; hostname; echo kept > /data/proof; sync' });
    assert.match(out, /Linux driver-test/);
    await driver.stop('vm-1');
    assert.equal((await driver.inspect('vm-1')).state, 'stopped');
    await driver.start('vm-1');
    await waitForSshBanner(spec.sshPort);
    assert.equal((await sshExec({ port: spec.sshPort, privateKey, command: 'cat /data/proof' })).trim(), 'kept');
  });

  test('the serial log holds the boot output and rotates past its limit', async () => {
    const log = path.join(dir, 'vms/vm-1/serial.log');
    assert.match(readFileSync(log, 'utf8'), /Linux version 6\./);
    assert.equal(await driver.rotateConsoleLog('vm-1', 10 * 1024 * 1024), false);
    assert.equal(await driver.rotateConsoleLog('vm-1', 100), true);
    assert.match(readFileSync(`${log}.1`, 'utf8'), /Linux version 6\./);
    assert.ok(statSync(log).size < 100);
    await sshExec({ port: spec.sshPort, privateKey, command: 'echo after-rotation > /dev/console' });
    assert.match(readFileSync(log, 'utf8'), /after-rotation/, 'QEMU keeps writing to the truncated log');
  });

  test('destroy kills the process and removes every file', async () => {
    const pid = (await driver.inspect('vm-1')).pid!;
    await driver.destroy('vm-1');
    assert.equal(processAlive(pid), false);
    assert.equal((await driver.inspect('vm-1')).state, 'missing');
    assert.equal(existsSync(path.join(dir, 'vms/vm-1')), false);
  });
});
