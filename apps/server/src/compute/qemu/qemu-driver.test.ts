import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { driverContractSuite } from '../../test-support/driver-contract.js';
import { sshExec } from '../../test-support/ssh.js';
import { QemuDriver } from './qemu-driver.js';

/** Alive and not a zombie (this sandbox's PID 1 may not reap daemonized children). */
function processAlive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The real thing: QEMU (software emulation) booting the built-in tiny image. */
driverContractSuite(
  'qemu',
  (dir) => new QemuDriver({ vmsDir: path.join(dir, 'vms'), accel: async () => 'tcg', stopTimeoutMs: 30_000 }),
  (ctx) => {
    test('qemu: the instance directory holds disk, seed, sockets and the .vm_info record', () => {
      const vmDir = path.join(ctx().dir, 'vms', ctx().spec.id);
      for (const f of ['disk.qcow2', 'seed.iso', 'qmp.sock', 'serial.sock', 'serial.log', 'qemu.pid', '.vm_info']) {
        assert.ok(existsSync(path.join(vmDir, f)), f);
      }
    });

    test('qemu: the serial log holds the boot output and rotates past its limit', async () => {
      const { driver, spec, privateKey, dir } = ctx();
      const log = path.join(dir, 'vms', spec.id, 'serial.log');
      assert.match(readFileSync(log, 'utf8'), /Linux version 6\./);
      assert.equal(await (driver as QemuDriver).rotateConsoleLog(spec.id, 10 * 1024 * 1024), false);
      assert.equal(await (driver as QemuDriver).rotateConsoleLog(spec.id, 100), true);
      assert.match(readFileSync(`${log}.1`, 'utf8'), /Linux version 6\./);
      assert.ok(statSync(log).size < 100);
      await sshExec({ port: spec.sshPort, privateKey, command: 'echo after-rotation > /dev/console' });
      assert.match(readFileSync(log, 'utf8'), /after-rotation/, 'QEMU keeps writing to the truncated log');
    });

    test('qemu: a forced stop leaves no process', async () => {
      const { driver, spec } = ctx();
      const pid = (await driver.inspect(spec.id)).pid!;
      await driver.stop(spec.id, { force: true });
      assert.equal(processAlive(pid), false);
      await driver.start(spec.id);
    });
  },
);
