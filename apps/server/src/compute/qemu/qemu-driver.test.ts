import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { driverContractSuite } from '../../test-support/driver-contract.js';
import { sshExec } from '../../test-support/ssh.js';
import { QemuDriver } from './qemu-driver.js';
import { qemuReason } from './qemu-errors.js';
import { QmpClient } from './qmp-client.js';
import { CommandError } from '../../infra/process.js';

/** Alive and not a zombie (this sandbox's PID 1 may not reap daemonized children). */
function processAlive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Live QEMU processes launched with this pidfile (found by command line, as the driver does). */
function qemusWith(pidfile: string): number[] {
  return readdirSync('/proc').filter((e) => /^\d+$/.test(e) && processAlive(Number(e))).filter((e) => {
    try {
      return readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').includes(pidfile);
    } catch {
      return false;
    }
  }).map(Number);
}

/** The real thing: QEMU (software emulation) booting the built-in tiny image. */
driverContractSuite(
  'qemu',
  (dir) => new QemuDriver({ vmsDir: path.join(dir, 'vms'), accel: async () => 'tcg', stopTimeoutMs: 30_000 }),
  (ctx) => {
    test('qemu: the instance directory holds disk, seed, sockets and the .vm_info record', () => {
      const vmDir = path.join(ctx().dir, 'vms', ctx().spec.id);
      for (const f of ['disk.qcow2', 'seed.iso', 'qmp.sock', 'qga.sock', 'serial.sock', 'serial.log', 'qemu.pid', '.vm_info']) {
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

    test('qemu: a forced stop leaves no process; startedAt is when the new process really started', async () => {
      const { driver, spec } = ctx();
      const pid = (await driver.inspect(spec.id)).pid!;
      await driver.stop(spec.id, { force: true });
      assert.equal(processAlive(pid), false);
      await new Promise((r) => setTimeout(r, 1500));
      const before = Date.now();
      await driver.start(spec.id);
      const after = Date.now();
      // /proc/stat's boot time has whole seconds: the start time is exact to about a second.
      await new Promise((r) => setTimeout(r, 1500));
      const startedAt = (await driver.inspect(spec.id)).startedAt!.getTime();
      assert.ok(startedAt >= before - 1100 && startedAt <= after + 100, `started ${startedAt - before} ms after the call`);
    });

    test("qemu: a start while an earlier start's QEMU is still launching waits for it: one QEMU, no second launch", async (t) => {
      const { driver, spec, dir } = ctx();
      const pidfile = path.join(dir, 'vms', spec.id, 'qemu.pid');
      await driver.stop(spec.id, { force: true });
      // The first start's QEMU, as a start cut short by a crash leaves it: launched, no pidfile yet.
      const first = driver.start(spec.id);
      let launching: number[] = [];
      for (let i = 0; i < 2000 && launching.length === 0; i++) {
        launching = qemusWith(pidfile);
        if (launching.length === 0) await new Promise((r) => setTimeout(r, 2));
      }
      const caught = launching.length > 0 && (await driver.inspect(spec.id)).state !== 'running';
      t.diagnostic(caught ? 'second start issued while the first QEMU was launching' : 'the first QEMU was up before the second start');
      await driver.start(spec.id);
      await first;
      assert.equal((await driver.inspect(spec.id)).state, 'running');
      assert.equal(qemusWith(pidfile).length, 1, 'one QEMU for the instance');
    });

    test('qemu: a launch that fails says why (from the QEMU log, where -D sends it), not its command line', async (t) => {
      const { driver, spec } = ctx();
      // A real failure: the VM's forwarded SSH port is already taken on the host.
      const taken = net.createServer().listen(0, '127.0.0.1');
      await once(taken, 'listening');
      const other = { ...spec, id: 'vm-2', sshPort: (taken.address() as AddressInfo).port };
      try {
        await driver.create(other);
        const err = await driver.start(other.id).then(() => assert.fail('QEMU should not start'), (e: Error) => e);
        t.diagnostic(err.message);
        assert.match(err.message, /^QEMU could not start the VM: .*(host forwarding|hostfwd)/i);
        assert.doesNotMatch(err.message, /-drive|-netdev|-name/, err.message);
        assert.ok(err.message.length < 700, err.message);
      } finally {
        taken.close();
        await driver.destroy(other.id);
      }
    });

    test('qemu: a guest paused over QMP is reported paused, with its reason; resumed, it is not', async () => {
      const { driver, spec, dir } = ctx();
      const qmp = await QmpClient.connect(path.join(dir, 'vms', spec.id, 'qmp.sock'));
      try {
        await qmp.execute('stop');
      } finally {
        qmp.close();
      }
      const paused = await driver.inspect(spec.id);
      assert.equal(paused.state, 'running', 'its process still runs');
      assert.deepEqual(paused.paused, { reason: 'paused' });
      // Halted vCPUs cannot run the agent: silent at once, nothing else reported.
      assert.deepEqual(await (driver as QemuDriver).guestReport(spec.id), { agent: false });
      const again = await QmpClient.connect(path.join(dir, 'vms', spec.id, 'qmp.sock'));
      try {
        await again.execute('cont');
      } finally {
        again.close();
      }
      assert.equal((await driver.inspect(spec.id)).paused, undefined);
    });

    test('qemu: the sampler, the reconciler and an action asking QMP at once all get answers', async () => {
      const { driver, spec } = ctx();
      const qemu = driver as QemuDriver;
      // QEMU serves one QMP client and queues about one more: a burst must take turns, not fail.
      const burst = await Promise.allSettled(
        Array.from({ length: 6 }, () => [qemu.stats(spec.id), qemu.guestReport(spec.id), driver.inspect(spec.id)]).flat(),
      );
      const failed = burst.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
      assert.deepEqual(failed, []);
      for (const r of burst) assert.ok((r as PromiseFulfilledResult<unknown>).value !== undefined);
    });
  },
);

test("qemu: a launch failure says why first, without QEMU's echo of the whole option", () => {
  const option = `-drive file=/srv/twarga/data/vms/vm-44/disk.qcow2,if=virtio,format=qcow2,cache=writeback,discard=unmap${',x=y'.repeat(100)}`;
  const err = new CommandError('/usr/bin/qemu-system-x86_64', 1, `qemu-system-x86_64: ${option}: Could not open '/srv/twarga/data/vms/vm-44/disk.qcow2': Permission denied\n`, false);
  assert.equal(qemuReason(err), "Could not open '/srv/twarga/data/vms/vm-44/disk.qcow2': Permission denied");
  assert.match(err.message, /^qemu-system-x86_64: -drive .* … .*Permission denied \(qemu-system-x86_64 exit 1\)$/, 'the generic message keeps the end of a long line');
});
