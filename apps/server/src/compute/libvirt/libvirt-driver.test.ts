import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { hasSerialConsole } from '../driver.js';
import { debianImageMissing, debianSpec, sshWhenReady } from '../../test-support/debian-image.js';
import { driverContractSuite, TINY_DIR } from '../../test-support/driver-contract.js';
import { inPrivateNetns } from '../../test-support/netns.js';
import { LibvirtDriver } from './libvirt-driver.js';
import { parseKeyValues, parseNameList, parseVolList, Virsh } from './virsh.js';

/**
 * The libvirt driver against a real libvirtd, booting the tiny image (software emulation): once
 * through the local socket, once as a remote host over TCP (what a qemu+ssh:// host looks like).
 * The NETWORK RULE: guests live on libvirt's NAT network, which must exist only inside a network
 * namespace the test run created. So this runs only when the runner is inside such a namespace:
 *   scripts/lib/run-in-libvirt-netns.sh env TWARGA_TEST_LIBVIRT=1 node --conditions=development --import tsx --test <this file>
 * Elsewhere it skips, unless TWARGA_TEST_LIBVIRT=1 (then it fails loudly).
 * Everything it makes is named with a random per-run prefix and pool, and removed afterwards.
 */
const URI = 'qemu:///system';
/** The same libvirtd as a remote host: scripts/lib/libvirt-netns.sh also has it listen over TCP on the namespace's loopback. */
const REMOTE_URI = 'qemu+tcp://127.0.0.1/system';
const virsh = new Virsh(URI, { timeoutMs: 30_000 });

async function unavailableReason(): Promise<string | undefined> {
  try {
    if (!inPrivateNetns()) return 'the test runner is in the root network namespace; run it inside one with libvirtd (scripts/lib/run-in-libvirt-netns.sh)';
  } catch (err) {
    return `cannot tell the network namespace: ${(err as Error).message}`;
  }
  try {
    await virsh.run(['version']);
  } catch (err) {
    return `no libvirtd answers on ${URI}: ${(err as Error).message}`;
  }
  try {
    await new Virsh(REMOTE_URI, { timeoutMs: 30_000 }).run(['version']);
  } catch (err) {
    return `libvirtd does not answer as a remote host on ${REMOTE_URI}: ${(err as Error).message}`;
  }
  const net = await virsh.runIfExists(['net-info', 'default']).catch(() => undefined);
  if (!net || parseKeyValues(net).active !== 'yes') return "libvirt's default network is not active";
  if (!existsSync(path.join(TINY_DIR, 'vmlinuz'))) return `the tiny image is not built (${TINY_DIR})`;
  return undefined;
}

const reason = await unavailableReason();

if (reason) {
  if (process.env.TWARGA_TEST_LIBVIRT === '1') {
    test('libvirt is available (TWARGA_TEST_LIBVIRT=1)', () => assert.fail(`libvirt tests required but unavailable: ${reason}`));
  } else {
    test('compute driver contract: libvirt', { skip: reason }, () => {});
  }
} else {
  const run = randomBytes(4).toString('hex');
  const prefix = `twarga-test-${run}-`;
  const pool = `twarga-test-${run}`;
  let driver!: LibvirtDriver;

  driverContractSuite(
    'libvirt',
    (dir) =>
      (driver = new LibvirtDriver({
        uri: URI,
        poolName: pool,
        poolDir: `/var/lib/libvirt/images/${pool}`,
        namePrefix: prefix,
        domainType: 'qemu',
        stopTimeoutMs: 60_000,
        consoleLogDir: path.join(dir, 'console'),
      })),
    (ctx) => {
      test('libvirt: the domain boots from pool volumes with the seed as a virtio disk', async () => {
        const { spec } = ctx();
        const xml = await virsh.run(['dumpxml', `${prefix}${spec.id}`]);
        assert.match(xml, /<domain type='qemu'/);
        assert.match(xml, new RegExp(`<kernel>/var/lib/libvirt/images/${pool}/shared-[0-9a-f]{16}-vmlinuz</kernel>`));
        assert.match(xml, new RegExp(`<source file='/var/lib/libvirt/images/${pool}/${prefix}${spec.id}-seed.iso'[^>]*/>\\s*(<[^>]+>\\s*)*<target dev='vdb' bus='virtio'/>`));
        const vols = parseVolList(await virsh.run(['vol-list', '--pool', pool])).map((v) => v.name).sort();
        assert.deepEqual(vols.filter((v) => v.startsWith(prefix)), [`${prefix}${spec.id}-disk.qcow2`, `${prefix}${spec.id}-seed.iso`]);
        assert.equal(vols.filter((v) => v.startsWith('shared-')).length, 2, 'kernel and initrd, uploaded once');
      });

      test('libvirt: inspect reports the QEMU pid and the lease as sshEndpoint; create again is harmless', async () => {
        const { spec } = ctx();
        const before = await driver.inspect(spec.id);
        assert.equal(before.state, 'running');
        assert.ok(before.pid && before.pid > 1);
        assert.ok(before.startedAt instanceof Date);
        assert.match(before.privateIp ?? '', /^192\.168\.122\.[0-9]+$/);
        assert.deepEqual(before.sshEndpoint, { host: before.privateIp, port: 22, username: 'root' });
        await driver.create(spec); // while running: keeps the definition and the seed in use
        const again = await driver.inspect(spec.id);
        assert.equal(again.pid, before.pid);
        assert.equal(again.privateIp, before.privateIp);
      });

      test('libvirt: the .vm_info record is domain metadata; writeInfo replaces it', async () => {
        const { spec } = ctx();
        assert.deepEqual(await driver.readInfo(spec.id), spec.info);
        const info = { ...spec.info, note: `<&>"' ü`, updated: true };
        await driver.writeInfo(spec.id, info);
        assert.deepEqual(await driver.readInfo(spec.id), info);
        assert.equal(await driver.readInfo('vm-999999'), undefined);
      });

      test('libvirt: the console log holds the boot output; serialScrollback is its tail', async () => {
        const { spec } = ctx();
        const log = driver.consoleLogPath(spec.id);
        const content = readFileSync(log);
        assert.match(content.toString('utf8'), /Linux version 6\./);
        const tail = await driver.serialScrollback(spec.id, 300);
        assert.ok(tail.length > 0 && tail.length <= 300);
        assert.ok(readFileSync(log).includes(tail), 'the scrollback is a piece of the log');
        assert.match((await driver.serialScrollback(spec.id, 10 * 1024 * 1024)).toString('utf8'), /Linux version 6\./);
      });

      test('libvirt: openSerial reaches the shell on ttyS0', async () => {
        const { spec } = ctx();
        const serial = await driver.openSerial(spec.id);
        let out = '';
        serial.on('data', (d: Buffer) => (out += d.toString('utf8')));
        try {
          const waitFor = async (re: RegExp, ms: number) => {
            const deadline = Date.now() + ms;
            while (!re.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
            assert.match(out, re);
          };
          serial.write('\r');
          await waitFor(/[#$] (\x1b\[6n)?$/m, 20_000);
          serial.write('echo serial-$((6*7)); hostname\r');
          await waitFor(/serial-42\s+contract-test/, 20_000);
        } finally {
          serial.destroy();
        }
      });
    },
  );

  /** The names the pool gives the tiny kernel and initrd (content hash + file name), as the files are now. */
  const sharedVolumes = () =>
    ['initrd.img', 'vmlinuz'].map((f) => `shared-${createHash('sha256').update(readFileSync(path.join(TINY_DIR, f))).digest('hex').slice(0, 16)}-${f}`);
  /**
   * After destroy a pool holds only shared kernel/initrd volumes, among them those of the files
   * as they are now (an image rebuilt during the run adds the new version next to the old).
   */
  const assertOnlySharedVolumes = (vols: string[]) => {
    for (const v of vols) assert.match(v, /^shared-[0-9a-f]{16}-(vmlinuz|initrd\.img)$/, `left behind: ${v}`);
    for (const v of sharedVolumes()) assert.ok(vols.includes(v), `${v} (uploaded by the suite) is kept: ${vols.join(', ')}`);
  };

  // Runs after the contract suite (destroy and its cleanup): nothing of the instance is left.
  test('libvirt: nothing of the instance is left after destroy; the shared kernel and initrd stay', async () => {
    assert.deepEqual(parseNameList(await virsh.run(['list', '--all', '--name'])).filter((n) => n.startsWith(prefix)), []);
    assert.deepEqual(await driver.list(), []);
    assertOnlySharedVolumes(parseVolList(await virsh.run(['vol-list', '--pool', pool])).map((v) => v.name));
  });

  // Debian 12 (images/debian/build.sh) the usual libvirt way: BIOS → GRUB from the image's disk,
  // the seed read by cloud-init. One boot, every check in one test (each boot costs a minute or more).
  const debianMissing = debianImageMissing();
  test('libvirt: Debian 12 boots from its disk image: SSH as debian with the seeded key, a shell on ttyS0, the guest agent; destroy leaves nothing', { skip: debianMissing && !debianMissing.fail ? debianMissing.reason : false }, async (t) => {
    if (debianMissing) assert.fail(`${debianMissing.reason} (CI is set: the image must be there)`);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'twarga-libvirt-debian-'));
    const id = 'vm-14';
    const name = `${prefix}${id}`;
    try {
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'key')], { timeout: 30_000 });
      // Below the image's 2 GiB virtual size: the disk must still hold the whole image.
      const spec = debianSpec({ id, hostname: 'debian-libvirt', publicKey: readFileSync(path.join(dir, 'key.pub'), 'utf8').trim(), diskGb: 1 });
      await driver.create(spec);
      const started = Date.now();
      await driver.start(id);
      const xml = await virsh.run(['dumpxml', name]);
      assert.doesNotMatch(xml, /<kernel>/, 'booted by the BIOS from the disk, not a kernel');
      const ins = await driver.inspect(id);
      assert.match(ins.privateIp ?? '', /^192\.168\.122\.[0-9]+$/);
      const privateKey = readFileSync(path.join(dir, 'key'), 'utf8');
      const out = await sshWhenReady({ host: ins.privateIp!, port: 22, username: 'debian', privateKey, command: 'id -un; hostname; lsblk -bdno SIZE /dev/vda', timeoutMs: 300_000 });
      t.diagnostic(`Debian 12 on libvirt (TCG, 1 GB): SSH as debian after ${((Date.now() - started) / 1000).toFixed(1)} s`);
      const [user, host, size] = out.trim().split('\n');
      assert.equal(user, 'debian');
      assert.equal(host, 'debian-libvirt', 'the hostname from the seed');
      assert.ok(Number(size) >= 2 * 1024 ** 3, `the disk holds the image's 2 GiB: ${size} bytes`);

      // The serial console: the image's getty on ttyS0 (autologin as root, images/debian/rootfs)
      // answers Enter with a shell prompt and runs what is typed.
      const serial = await driver.openSerial(id);
      let serialOut = '';
      serial.on('data', (d: Buffer) => (serialOut += d.toString('utf8')));
      try {
        const waitFor = async (re: RegExp, ms: number, poke?: string) => {
          const deadline = Date.now() + ms;
          while (!re.test(serialOut) && Date.now() < deadline) {
            if (poke) serial.write(poke);
            await new Promise((r) => setTimeout(r, poke ? 2000 : 200));
          }
          assert.match(serialOut, re, `the serial console printed: ${JSON.stringify(serialOut.slice(-500))}`);
        };
        await waitFor(/root@debian-libvirt:~# $/m, 60_000, '\r');
        serial.write('echo serial-$((6*7)) $(tty); hostname\r');
        await waitFor(/serial-42 \/dev\/ttyS0\s+debian-libvirt/, 20_000);
      } finally {
        serial.destroy();
      }

      // qemu-guest-agent answers on org.qemu.guest_agent.0 and sees the root filesystem.
      const deadline = Date.now() + 60_000;
      let report = await driver.guestReport(id);
      while (!(report?.agent && report.filesystems?.some((f) => f.mountpoint === '/')) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 2000));
        report = await driver.guestReport(id);
      }
      assert.ok(report?.agent, `the guest agent answers: ${JSON.stringify(report)}`);
      assert.equal(report.filesystems?.find((f) => f.mountpoint === '/')?.type, 'ext4', JSON.stringify(report.filesystems));
      t.diagnostic(`guest agent answered ${((Date.now() - started) / 1000).toFixed(1)} s after start`);

      await driver.destroy(id);
      assert.equal((await driver.inspect(id)).state, 'missing');
      assert.deepEqual(parseNameList(await virsh.run(['list', '--all', '--name'])).filter((n) => n.startsWith(name)), []);
      assert.deepEqual(parseVolList(await virsh.run(['vol-list', '--pool', pool])).map((v) => v.name).filter((v) => v.startsWith(`${name}-`)), []);
    } finally {
      await driver.destroy(id).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // A remote host: nothing on this machine's disk is shared with it and its PTYs are not ours.
  // Its own pool (name and directory): the kernel, initrd and seeds really go up over qemu+tcp,
  // instead of being found in the pool the local suite filled.
  const remotePrefix = `twarga-test-${run}-r-`;
  const remotePool = `twarga-test-${run}-r`;
  const remoteVirsh = new Virsh(REMOTE_URI, { timeoutMs: 60_000 });
  let remote!: LibvirtDriver;
  driverContractSuite(
    'libvirt-remote',
    (dir) => {
      // The log directory is on the libvirt host (libvirt's /var/log/libvirt/qemu by default):
      // the driver never makes it for a remote URI, so it is made here, as that host would have it.
      mkdirSync(path.join(dir, 'console'));
      return (remote = new LibvirtDriver({
        uri: REMOTE_URI,
        poolName: remotePool,
        poolDir: `/var/lib/libvirt/images/${remotePool}`,
        namePrefix: remotePrefix,
        domainType: 'qemu',
        stopTimeoutMs: 60_000,
        consoleLogDir: path.join(dir, 'console'),
      }));
    },
    (ctx) => {
      test('remote: no serial console from here (a clear refusal), SSH at the lease address', async () => {
        const { spec } = ctx();
        assert.equal(hasSerialConsole(remote), false);
        await assert.rejects(remote.openSerial(spec.id), /remote libvirt URI/);
        assert.match((await remote.inspect(spec.id)).sshEndpoint?.host ?? '', /^192\.168\.122\.[0-9]+$/);
      });

      test('remote: the domain uses volumes of its own pool, uploaded over the connection', async () => {
        const { spec } = ctx();
        const xml = await remoteVirsh.run(['dumpxml', `${remotePrefix}${spec.id}`]);
        const [initrd, kernel] = sharedVolumes();
        assert.ok(xml.includes(`<kernel>/var/lib/libvirt/images/${remotePool}/${kernel}</kernel>`), xml);
        assert.ok(xml.includes(`<initrd>/var/lib/libvirt/images/${remotePool}/${initrd}</initrd>`), xml);
        assert.ok(xml.includes(`<source file='/var/lib/libvirt/images/${remotePool}/${remotePrefix}${spec.id}-seed.iso'`), xml);
        // What arrived is the local file, byte for byte (downloaded back over the connection).
        const back = path.join(ctx().dir, 'kernel.back');
        await remoteVirsh.run(['vol-download', '--pool', remotePool, kernel!, back], { timeoutMs: 120_000 });
        assert.ok(readFileSync(back).equals(readFileSync(path.join(TINY_DIR, 'vmlinuz'))), 'the uploaded kernel is the local one');
      });
    },
  );

  test('libvirt-remote (qemu+tcp): nothing of the instance is left after destroy; its pool keeps only kernel and initrd', async () => {
    assert.deepEqual(parseNameList(await remoteVirsh.run(['list', '--all', '--name'])).filter((n) => n.startsWith(remotePrefix)), []);
    assert.deepEqual(await remote.list(), []);
    assertOnlySharedVolumes(parseVolList(await remoteVirsh.run(['vol-list', '--pool', remotePool])).map((v) => v.name));
    assert.match(await remoteVirsh.run(['pool-dumpxml', remotePool]), new RegExp(`<path>/var/lib/libvirt/images/${remotePool}</path>`), 'a directory of its own');
  });

  after(async () => {
    // The per-run pools and their shared volumes.
    for (const p of [pool, remotePool]) {
      const vols = await virsh.runIfExists(['vol-list', '--pool', p]).catch(() => undefined);
      for (const v of parseVolList(vols ?? '')) await virsh.run(['vol-delete', '--pool', p, v.name]).catch(() => {});
      await virsh.run(['pool-destroy', p]).catch(() => {});
      await virsh.run(['pool-delete', p]).catch(() => {});
      await virsh.run(['pool-undefine', p]).catch(() => {});
    }
  });
}
