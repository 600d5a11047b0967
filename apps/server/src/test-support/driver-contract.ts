import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { seedFiles } from '../cloudinit/seed-iso.js';
import { hasStats, type ComputeDriver, type InstanceSpec } from '../compute/driver.js';
import { sshExec, waitForSshBanner } from './ssh.js';

export const TINY_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../images/tiny/dist');

export interface ContractContext {
  driver: ComputeDriver;
  spec: InstanceSpec;
  privateKey: string;
  /** A scratch directory the suite removes afterwards. */
  dir: string;
}

/**
 * The behaviour every compute driver must show with the real tiny image (qemu today; libvirt
 * and vagrant run the same suite). `extra` adds driver-specific tests that run before destroy.
 */
export function driverContractSuite(name: string, makeDriver: (dir: string) => ComputeDriver, extra?: (ctx: () => ContractContext) => void): void {
  describe(`compute driver contract: ${name}`, () => {
    let ctx: ContractContext;
    before(() => {
      const dir = mkdtempSync(path.join(os.tmpdir(), `twarga-${name}-`));
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'key')], { timeout: 30_000 });
      const id = 'vm-1';
      const spec: InstanceSpec = {
        id,
        hostname: 'contract-test',
        memoryMb: 256,
        vcpus: 1,
        diskGb: 1,
        sshPort: 24000 + Math.floor(Math.random() * 1000),
        boot: { kind: 'kernel', kernel: path.join(TINY_DIR, 'vmlinuz'), initrd: path.join(TINY_DIR, 'initrd.img'), cmdline: 'console=ttyS0 panic=-1' },
        seed: seedFiles({ instanceId: id, hostname: 'contract-test', sshAuthorizedKeys: [readFileSync(path.join(dir, 'key.pub'), 'utf8').trim()] }),
        info: { name: 'contract-test' },
      };
      ctx = { driver: makeDriver(dir), spec, privateKey: readFileSync(path.join(dir, 'key'), 'utf8'), dir };
    });
    after(async () => {
      await ctx.driver.destroy(ctx.spec.id).catch(() => {});
      rmSync(ctx.dir, { recursive: true, force: true });
    });
    // Where SSH answers: a forwarded host port (qemu) or what the driver reports (libvirt, vagrant).
    const ssh = async (command: string) => {
      const { host, port, username } = (await ctx.driver.inspect(ctx.spec.id)).sshEndpoint ?? { host: '127.0.0.1', port: ctx.spec.sshPort, username: 'root' };
      await waitForSshBanner(port, 120_000, host);
      return sshExec({ host, port, username, privateKey: ctx.privateKey, command });
    };

    test('ids that could escape a path are refused', async () => {
      await assert.rejects(ctx.driver.inspect('../etc'));
      await assert.rejects(ctx.driver.destroy('vm-1; rm -rf /'));
    });

    test('an unknown instance is missing', async () => {
      assert.equal((await ctx.driver.inspect('vm-999999')).state, 'missing');
    });

    test('create is idempotent, does not boot, and lists the instance', async () => {
      await ctx.driver.create(ctx.spec);
      await ctx.driver.create(ctx.spec);
      assert.equal((await ctx.driver.inspect(ctx.spec.id)).state, 'stopped');
      assert.deepEqual(await ctx.driver.list(), [ctx.spec.id]);
    });

    test('start boots to SSH with the seeded key and hostname', async () => {
      await ctx.driver.start(ctx.spec.id);
      await ctx.driver.start(ctx.spec.id); // already running: no-op
      assert.equal((await ctx.driver.inspect(ctx.spec.id)).state, 'running');
      assert.match(await ssh('uname -a; hostname'), /Linux contract-test /);
    });

    test('/data survives a graceful stop and a start', async () => {
      await ssh('echo kept > /data/proof; sync');
      await ctx.driver.stop(ctx.spec.id);
      assert.equal((await ctx.driver.inspect(ctx.spec.id)).state, 'stopped');
      await ctx.driver.start(ctx.spec.id);
      assert.equal((await ssh('cat /data/proof')).trim(), 'kept');
    });

    test('reboot comes back running with /data', async () => {
      await ctx.driver.reboot(ctx.spec.id);
      assert.equal((await ctx.driver.inspect(ctx.spec.id)).state, 'running');
      assert.equal((await ssh('cat /data/proof')).trim(), 'kept');
    });

    test('stats: the hypervisor counts CPU, memory, disk and network, and the counters follow the guest', async () => {
      assert.ok(hasStats(ctx.driver), 'the driver reports stats');
      const before = (await ctx.driver.stats(ctx.spec.id))!;
      assert.ok(before.cpuTimeNs > 0 && before.memoryRssBytes > 16 * 1024 * 1024 && before.disk.readBytes > 0, JSON.stringify(before));
      await ssh('dd if=/dev/zero of=/data/stats-probe bs=1024 count=4096 conv=fsync 2>/dev/null; rm /data/stats-probe; sync');
      const later = (await ctx.driver.stats(ctx.spec.id))!;
      assert.ok(later.disk.writeBytes - before.disk.writeBytes >= 4 * 1024 * 1024, `4 MiB written: ${JSON.stringify([before.disk, later.disk])}`);
      assert.ok(later.cpuTimeNs > before.cpuTimeNs);
      if (name === 'qemu') assert.equal(later.network, undefined, 'user networking counts nothing');
      else assert.ok(later.network!.rxBytes > before.network!.rxBytes && later.network!.txBytes > before.network!.txBytes, `the SSH session crossed the NIC: ${JSON.stringify([before.network, later.network])}`);
    });

    extra?.(() => ctx);

    test('a forced stop ends it at once', async () => {
      const t = Date.now();
      await ctx.driver.stop(ctx.spec.id, { force: true });
      assert.equal((await ctx.driver.inspect(ctx.spec.id)).state, 'stopped');
      assert.ok(Date.now() - t < 10_000);
      assert.ok(hasStats(ctx.driver) && (await ctx.driver.stats(ctx.spec.id)) === undefined, 'a stopped instance has no stats');
    });

    test('destroy removes everything, and again is a no-op', async () => {
      await ctx.driver.start(ctx.spec.id);
      await ctx.driver.destroy(ctx.spec.id);
      await ctx.driver.destroy(ctx.spec.id);
      assert.equal((await ctx.driver.inspect(ctx.spec.id)).state, 'missing');
      assert.deepEqual(await ctx.driver.list(), []);
    });
  });
}
