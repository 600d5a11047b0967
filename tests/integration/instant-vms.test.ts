import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from 'ssh2';
import { seedFiles } from '../../apps/server/src/cloudinit/seed-iso.js';
import type { InstanceSpec } from '../../apps/server/src/compute/driver.js';
import { QemuDriver } from '../../apps/server/src/compute/qemu/qemu-driver.js';
import type { WarmPoolEvent } from '../../apps/server/src/compute/qemu/warm-pool.js';
import { sshExec, waitForSshBanner } from '../../apps/server/src/test-support/ssh.js';
import { killQemusUnder } from '../support/qemu.js';
import { root } from '../support/server.js';
import { until } from '../support/until.js';

/** The image under test: the built one, or another build (TWARGA_TINY_IMAGE_DIR) before it is swapped in. */
const TINY_DIR = process.env.TWARGA_TINY_IMAGE_DIR ?? path.join(root, 'images/tiny/dist');
/** This test's SSH ports (24250-24299 are the instant-VM tests'). */
const PORTS = { a: 24250, b: 24251 };

/** The SSH host key a server presents (sha256 of its public key blob), seen by a real client handshake. */
function hostKeyOf(port: number, privateKey: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let key = '';
    const conn = new Client();
    conn
      .on('ready', () => (conn.end(), resolve(key)))
      .on('error', reject)
      .connect({
        host: '127.0.0.1',
        port,
        username: 'root',
        privateKey,
        readyTimeout: 20_000,
        hostVerifier: (blob: Buffer) => ((key = createHash('sha256').update(blob).digest('hex')), true),
      });
  });
}

/**
 * Instant VMs with real QEMU (software emulation), through the QEMU driver: a warm snapshot of
 * the tiny image is built once, and VMs restored from it must each be their own machine.
 */
describe('instant VMs from a warm snapshot', () => {
  let dir: string;
  let driver: QemuDriver;
  let initrd: string;
  const keys: Record<'a' | 'b', { privateKey: string; publicKey: string }> = {} as never;
  const events: WarmPoolEvent[] = [];

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'twarga-instant-'));
    for (const k of ['a', 'b'] as const) {
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, `key-${k}`)], { timeout: 30_000 });
      keys[k] = { privateKey: readFileSync(path.join(dir, `key-${k}`), 'utf8'), publicKey: readFileSync(path.join(dir, `key-${k}.pub`), 'utf8').trim() };
    }
    // The image's initrd, copied: the last test changes it to make the warm snapshot stale.
    mkdirSync(path.join(dir, 'image'));
    initrd = path.join(dir, 'image', 'initrd.img');
    copyFileSync(path.join(TINY_DIR, 'initrd.img'), initrd);
    driver = new QemuDriver({ vmsDir: path.join(dir, 'vms'), accel: async () => 'tcg', stopTimeoutMs: 30_000, onWarmEvent: (e) => events.push(e) });
  });
  after(async () => {
    for (const id of await driver.list()) await driver.destroy(id).catch(() => {});
    // The rebuild the last test started: its QEMU killed, the build then fails at once.
    killQemusUnder(dir);
    await driver.warmIdle();
    rmSync(dir, { recursive: true, force: true });
  });

  const specFor = (id: string, k: 'a' | 'b', diskGb: number): InstanceSpec => ({
    id,
    hostname: `instant-${k}`,
    memoryMb: 256,
    vcpus: 1,
    diskGb,
    sshPort: PORTS[k],
    boot: { kind: 'kernel', kernel: path.join(TINY_DIR, 'vmlinuz'), initrd, cmdline: 'console=ttyS0 panic=-1' },
    seed: seedFiles({
      instanceId: `${id}-${Date.now()}`,
      hostname: `instant-${k}`,
      sshAuthorizedKeys: [keys[k].publicKey],
      userData: '#!/bin/sh\necho "user-data ran on $(hostname)" > /root/user-data-ran\n',
    }),
    info: { name: `instant-${k}` },
  });
  const ssh = (k: 'a' | 'b', command: string, privateKey = keys[k].privateKey) => sshExec({ port: PORTS[k], privateKey, command, timeoutMs: 60_000 });

  test('two VMs from one warm snapshot are two machines: own host keys, machine-id, hostname, random state, keys, user-data, disk size', async () => {
    const a = specFor('vm-1', 'a', 2);
    const b = specFor('vm-2', 'b', 3);
    // Nothing warm yet: no instance is left behind, and the build starts.
    const first = await driver.startInstant(a);
    assert.equal(first.started, false);
    assert.match((first as { reason: string }).reason, /no warm snapshot/);
    assert.equal(await driver.inspect(a.id).then((s) => s.state), 'missing');
    assert.equal((await driver.warmState(a)).state, 'building');
    await driver.warmIdle();
    assert.equal((await driver.warmState(a)).state, 'ready', JSON.stringify(events));

    for (const spec of [a, b]) {
      const outcome = await driver.startInstant(spec);
      assert.equal(outcome.started, true, JSON.stringify(outcome));
      await waitForSshBanner(spec.sshPort, 60_000);
    }
    const facts = async (k: 'a' | 'b') => ({
      hostKey: await hostKeyOf(PORTS[k], keys[k].privateKey),
      machineId: (await ssh(k, 'cat /etc/machine-id')).trim(),
      hostname: (await ssh(k, 'hostname')).trim(),
      random: (await ssh(k, 'head -c 32 /dev/urandom | od -An -tx1 | tr -d " \\n"')).trim(),
    });
    const [fa, fb] = [await facts('a'), await facts('b')];
    assert.notEqual(fa.hostKey, fb.hostKey, 'each VM made its own SSH host key');
    assert.notEqual(fa.machineId, fb.machineId);
    assert.match(fa.machineId, /^[0-9a-f]{32}$/);
    assert.deepEqual([fa.hostname, fb.hostname], ['instant-a', 'instant-b']);
    assert.notEqual(fa.random, fb.random);
    // The VM generation id changed under the restored kernel: it reseeded its RNG.
    for (const k of ['a', 'b'] as const) assert.match(await ssh(k, 'dmesg'), /crng reseeded due to virtual machine fork/);

    // Each VM takes its own user's key and not the other's.
    await assert.rejects(ssh('a', 'true', keys.b.privateKey), /authentication/i);
    await assert.rejects(ssh('b', 'true', keys.a.privateKey), /authentication/i);

    // The user-data script ran (once, in the background after the identity).
    for (const k of ['a', 'b'] as const) {
      const ran = await until(`user-data on ${k}`, async () => (await ssh(k, 'cat /root/user-data-ran 2>/dev/null || true')).trim() || undefined, 60_000);
      assert.equal(ran, `user-data ran on instant-${k}`);
    }

    // One SSH server: the identity started dropbear itself (no wait for init's sshd poll), and init's
    // sshd waits while that one runs instead of starting a second one that fights for port 22.
    for (const k of ['a', 'b'] as const) {
      const ps = await ssh(k, 'cat /run/twarga/dropbear.pid; ps -o pid,ppid,args');
      const [pidLine, ...rows] = ps.trim().split('\n');
      const listeners = rows.map((r) => r.trim().split(/\s+/)).filter(([, ppid, cmd]) => ppid === '1' && /(^|\/)dropbear$/.test(cmd ?? ''));
      assert.deepEqual(listeners.map(([pid]) => pid), [pidLine!.trim()], ps);
    }

    // /data is the VM's own disk size, not the warm snapshot's 1 GiB (an instant guest formats and
    // mounts it in the background after its identity: /run/twarga-data-ready says it is done).
    for (const [k, gb] of [['a', 2], ['b', 3]] as const) {
      await until(`/data on ${k}`, async () => ((await ssh(k, 'test -e /run/twarga-data-ready && echo yes || true')).trim() === 'yes' ? true : undefined), 60_000);
      assert.equal(Number((await ssh(k, 'cat /sys/block/vda/size')).trim()) * 512, gb * 1024 ** 3);
      const kib = Number((await ssh(k, "df -k /data | awk 'NR==2{print $2}'")).trim());
      assert.ok(kib > gb * 1024 * 1024 * 0.9 && kib <= gb * 1024 * 1024, `/data on ${k} is ${kib} KiB for a ${gb} GiB disk`);
    }
    // spec.json holds the real size: a cold start later boots with it.
    assert.equal(JSON.parse(readFileSync(path.join(dir, 'vms', 'vm-1', 'spec.json'), 'utf8')).diskGb, 2);
  });

  test('an instant VM stopped and started again boots cold, keeping its /data, host key and keys', async () => {
    const proof = `kept ${Date.now()}`;
    await ssh('a', `echo '${proof}' > /data/proof && sync`);
    const hostKey = await hostKeyOf(PORTS.a, keys.a.privateKey);
    await driver.stop('vm-1');
    assert.equal((await driver.inspect('vm-1')).state, 'stopped');
    await driver.start('vm-1');
    assert.equal((await driver.inspect('vm-1')).state, 'running');
    await waitForSshBanner(PORTS.a, 300_000);
    assert.equal((await ssh('a', 'cat /data/proof')).trim(), proof);
    assert.equal(await hostKeyOf(PORTS.a, keys.a.privateKey), hostKey, 'same instance, same host key');
    // A cold boot: no warm flag on this kernel's command line.
    assert.doesNotMatch(await ssh('a', 'cat /proc/cmdline'), /twarga\.warm/);
    assert.equal((await ssh('a', 'hostname')).trim(), 'instant-a');
    await driver.destroy('vm-1');
    await driver.destroy('vm-2');
  });

  test('a warm snapshot whose image changed is not used: startInstant says why and a new one is built', async () => {
    const spec = specFor('vm-3', 'a', 1);
    // The image's initrd changes (zero padding after the cpio archive: still bootable).
    appendFileSync(initrd, Buffer.alloc(512));
    const outcome = await driver.startInstant(spec);
    assert.equal(outcome.started, false);
    assert.match((outcome as { reason: string }).reason, /stale \(changed: initrdSha256\)/);
    assert.equal(await driver.inspect(spec.id).then((s) => s.state), 'missing', 'nothing left behind');
    assert.equal((await driver.warmState(spec)).state, 'building');
    // The rebuild really runs: its QEMU is up (after() kills it rather than wait minutes for it).
    const warmDir = path.join(dir, 'warm');
    await until('the rebuild QEMU', async () => {
      const build = readdirSync(warmDir).find((d) => d.startsWith('build-'));
      return build && existsSync(path.join(warmDir, build, 'vm-0', 'qemu.pid')) ? true : undefined;
    }, 60_000);
  });
});
