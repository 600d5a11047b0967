import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { pickFreePort } from '../compute/ports.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { seedFiles } from '../cloudinit/seed-iso.js';
import { hasGuestAgent, hasStats, type ComputeDriver, type GuestReport, type InstanceSpec } from '../compute/driver.js';
import { sshExec, waitForSshBanner } from './ssh.js';

export const TINY_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../images/tiny/dist');

export interface ContractContext {
  driver: ComputeDriver;
  spec: InstanceSpec;
  privateKey: string;
  /** A scratch directory the suite removes afterwards. */
  dir: string;
}

export interface ContractOptions {
  /**
   * How long a forced stop of a running instance may take (default 10 s). Vagrant needs more:
   * each `vagrant` command first loads Ruby and the project, several seconds on a busy host.
   */
  forcedStopMaxMs?: number;
  /** Driver-specific checks right after the forced stop, while the instance is stopped. */
  afterForcedStop?: (ctx: ContractContext) => Promise<void>;
}

/**
 * The behaviour every compute driver must show with the real tiny image (qemu today; libvirt
 * and vagrant run the same suite). `extra` adds driver-specific tests that run before the
 * forced stop and destroy; they must leave the instance running.
 */
/**
 * A free port for the contract VM's SSH forward, above the integration servers' ranges (below
 * 24500, tests/support/port-ranges.test.ts), from a random start so that suites running at the
 * same time rarely try the same one.
 */
async function contractSshPort(): Promise<number> {
  const port = await pickFreePort(`${24500 + Math.floor(Math.random() * 400)}-24999`, ['127.0.0.1'], new Set());
  if (!port) throw new Error('no free port in 24500-24999 for the contract VM');
  return port;
}

export function driverContractSuite(name: string, makeDriver: (dir: string) => ComputeDriver, extra?: (ctx: () => ContractContext) => void, options: ContractOptions = {}): void {
  describe(`compute driver contract: ${name}`, () => {
    let ctx: ContractContext;
    before(async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), `twarga-${name}-`));
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'key')], { timeout: 30_000 });
      const id = 'vm-1';
      const spec: InstanceSpec = {
        id,
        hostname: 'contract-test',
        memoryMb: 256,
        vcpus: 1,
        diskGb: 1,
        sshPort: await contractSshPort(),
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
    const endpoint = async (s: InstanceSpec) => (await ctx.driver.inspect(s.id)).sshEndpoint ?? { host: '127.0.0.1', port: s.sshPort, username: 'root' };
    const sshTo = async (s: InstanceSpec, command: string) => {
      const { host, port, username } = await endpoint(s);
      await waitForSshBanner(port, 120_000, host);
      return sshExec({ host, port, username, privateKey: ctx.privateKey, command });
    };
    const ssh = (command: string) => sshTo(ctx.spec, command);

    test('ids that could escape a path are refused', async () => {
      await assert.rejects(ctx.driver.inspect('../etc'), /invalid instance id: "\.\.\/etc"/);
      await assert.rejects(ctx.driver.destroy('vm-1; rm -rf /'), /invalid instance id: "vm-1; rm -rf \/"/);
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

    // Tenant isolation: with QEMU's user networking a guest's 10.0.2.2 is the host's 127.0.0.1,
    // and on a bridge every guest reaches every other one, unless the driver prevents it.
    test('isolation: the guest reaches neither the host\'s loopback nor another instance\'s SSH; SSH from the host reaches both', async () => {
      const { driver, spec } = ctx;
      const token = `twarga-probe-${randomBytes(6).toString('hex')}`;
      let hits = 0;
      const listener = net.createServer((c) => {
        hits++;
        c.end(`${token}\n`);
      });
      await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
      const hostPort = (listener.address() as AddressInfo).port;
      const other: InstanceSpec = {
        ...spec,
        id: 'vm-2',
        hostname: 'contract-other',
        sshPort: spec.sshPort + 1,
        seed: seedFiles({ instanceId: 'vm-2', hostname: 'contract-other', sshAuthorizedKeys: [readFileSync(path.join(ctx.dir, 'key.pub'), 'utf8').trim()] }),
        info: { name: 'contract-other' },
      };
      try {
        await driver.create(other);
        await driver.start(other.id);
        assert.match(await sshTo(other, 'hostname'), /^contract-other\s*$/, 'the other instance answers SSH from the host');
        const own = await endpoint(spec);
        const theirs = await endpoint(other);
        // The host as the guest sees it: slirp's fixed 10.0.2.2 (user networking: SSH is a
        // loopback forward), else the gateway of the guest's network (the bridge address).
        let hostAddr = '10.0.2.2';
        if (own.host !== '127.0.0.1') {
          const hex = (await ssh("awk '$2 == \"00000000\" { print $3; exit }' /proc/net/route")).trim();
          assert.match(hex, /^[0-9A-F]{8}$/, 'the guest has a default route');
          hostAddr = [3, 2, 1, 0].map((i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join('.');
        }
        // A loopback forward is reached through the host address; a guest address directly.
        const otherTarget = theirs.host === '127.0.0.1' ? `${hostAddr} ${theirs.port}` : `${theirs.host} ${theirs.port}`;
        const probe = (label: string, target: string) => `echo '== ${label}'; timeout 10 nc -w 3 ${target} </dev/null 2>&1; echo "rc=$?"`;
        const raw = await ssh([probe('self', '127.0.0.1 22'), probe('host', `${hostAddr} ${hostPort}`), probe('other', otherTarget)].join('; '));
        // Readable in a failure message: an SSH server's key exchange follows its banner.
        const out = raw.replace(/[^\x20-\x7e\n]/g, '.').split('\n').map((l) => l.slice(0, 100)).join('\n');
        const section = (label: string) => out.split(`== ${label}\n`)[1]?.split('\n== ')[0] ?? '';
        // The control: nc in the guest shows a banner when it gets through (its own sshd).
        assert.match(section('self'), /SSH-2\.0-/, out);
        assert.doesNotMatch(section('host'), new RegExp(token), `the host's loopback listener at ${hostAddr}:${hostPort}: ${out}`);
        assert.doesNotMatch(section('host'), /rc=0/, out);
        assert.equal(hits, 0, 'no connection reached the loopback listener');
        assert.doesNotMatch(section('other'), /SSH-/, `the other instance's SSH at ${otherTarget}: ${out}`);
        assert.doesNotMatch(section('other'), /rc=0/, out);
        // Its own SSH from the host still works.
        assert.match(await ssh('hostname'), /^contract-test\s*$/);
      } finally {
        listener.close();
        await driver.destroy(other.id);
      }
      assert.equal((await driver.inspect(other.id)).state, 'missing');
    });

    // The QEMU guest agent in the tiny image, for drivers that can ask it (optional ability).
    test('guest agent: filesystems, addresses and balloon memory from inside the guest; a killed agent leaves them absent', async (t) => {
      const { driver, spec } = ctx;
      if (!hasGuestAgent(driver)) return t.skip('the driver has no guest agent');
      /** Polls guestReport until `ok` holds (the agent and the balloon answer a little after SSH does). */
      const reportWhere = async (ok: (r: GuestReport | undefined) => boolean, what: string, timeoutMs = 30_000) => {
        const deadline = Date.now() + timeoutMs;
        let r: GuestReport | undefined;
        while (Date.now() < deadline) {
          r = await driver.guestReport(spec.id);
          if (ok(r)) return r!;
          await new Promise((res) => setTimeout(res, 1000));
        }
        assert.fail(`${what} within ${timeoutMs} ms; last report: ${JSON.stringify(r)}`);
      };
      const guestIp = (await ssh("ip -4 -o addr show scope global | awk '{print $4}' | cut -d/ -f1 | head -1")).trim();
      assert.match(guestIp, /^\d+\.\d+\.\d+\.\d+$/, 'the guest has an address');
      const first = await reportWhere((r) => !!r?.agent && !!r.memory, 'the agent answers and the balloon reports memory');
      const data = first.filesystems?.find((f) => f.mountpoint === '/data');
      assert.ok(data, `a /data filesystem: ${JSON.stringify(first.filesystems)}`);
      assert.equal(data.type, 'ext4');
      assert.ok(data.usedBytes < data.totalBytes && data.totalBytes > 500 * 1024 * 1024, JSON.stringify(data));
      assert.ok(first.interfaces?.some((i) => i.addresses.includes(guestIp)), `an interface with ${guestIp}: ${JSON.stringify(first.interfaces)}`);
      const privateIp = (await driver.inspect(spec.id)).privateIp;
      if (privateIp) assert.ok(first.interfaces?.some((i) => i.addresses.includes(privateIp)), `the agent agrees with the driver's ${privateIp}`);
      const mem = first.memory!;
      assert.ok(mem.totalBytes > 100 * 1024 * 1024 && mem.totalBytes <= spec.memoryMb * 1024 * 1024, `guest memory, not the host's: ${JSON.stringify(mem)}`);
      assert.ok(mem.availableBytes > 0 && mem.availableBytes <= mem.totalBytes, JSON.stringify(mem));

      await ssh('dd if=/dev/zero of=/data/agent-probe bs=1M count=50 2>/dev/null; sync');
      const grown = await reportWhere((r) => {
        const d = r?.filesystems?.find((f) => f.mountpoint === '/data');
        return !!d && d.usedBytes - data.usedBytes >= 45 * 1024 * 1024;
      }, '50 MB written to /data shows in its used bytes', 15_000);
      t.diagnostic(`/data used ${data.usedBytes} -> ${grown.filesystems!.find((f) => f.mountpoint === '/data')!.usedBytes}`);
      await ssh('rm -f /data/agent-probe; sync');

      await ssh('kill $(cat /run/qemu-ga.pid)');
      const silent = await reportWhere((r) => r?.agent === false, 'a killed agent is reported silent', 15_000);
      assert.deepEqual(silent, { agent: false }, 'nothing else: absent, not zero');
      // Leave the instance as it was for the tests that follow.
      await ssh('/usr/sbin/qemu-ga -d -m virtio-serial -p /dev/virtio-ports/org.qemu.guest_agent.0 -f /run/qemu-ga.pid -t /run -l /var/log/qemu-ga.log');
      await reportWhere((r) => !!r?.agent, 'the restarted agent answers');
    });

    extra?.(() => ctx);

    test('a forced stop ends a running instance at once', async () => {
      assert.equal((await ctx.driver.inspect(ctx.spec.id)).state, 'running', 'the instance runs before the forced stop');
      const t = Date.now();
      await ctx.driver.stop(ctx.spec.id, { force: true });
      const took = Date.now() - t;
      assert.equal((await ctx.driver.inspect(ctx.spec.id)).state, 'stopped');
      const max = options.forcedStopMaxMs ?? 10_000;
      assert.ok(took < max, `the forced stop took ${took} ms (at most ${max})`);
      assert.ok(hasStats(ctx.driver) && (await ctx.driver.stats(ctx.spec.id)) === undefined, 'a stopped instance has no stats');
      if (hasGuestAgent(ctx.driver)) assert.equal(await ctx.driver.guestReport(ctx.spec.id), undefined, 'a stopped instance has no guest report');
      await options.afterForcedStop?.(ctx);
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
