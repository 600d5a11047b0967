import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { seedFiles } from '../../apps/server/src/cloudinit/seed-iso.js';
import type { QemuDriver } from '../../apps/server/src/compute/qemu/qemu-driver.js';
import { TINY_DIR, tinyLab } from '../support/tiny-lab.js';
import type { InstanceSpec } from '../../apps/server/src/compute/driver.js';
import { sshExec, waitForSshBanner } from '../../apps/server/src/test-support/ssh.js';
import { until } from '../support/until.js';

/** This file's SSH ports (24350-24399 belong to it), one per VM. */
const PORTS = { once: 24360, first: 24361, copy: 24362 };

/**
 * The tiny image's identity per instance (/sbin/twarga-identity on a cold boot), with real QEMU
 * under software emulation: user-data runs once per instance, a disk copied from another VM (what a
 * VM created from a snapshot gets) keeps its files but gets its own host key and machine-id, a
 * reboot keeps them, and a grown disk shows its new size in /data.
 */
describe('tiny image: identity per instance', () => {
  let lab: ReturnType<typeof tinyLab>;
  let dir: string;
  let driver: QemuDriver;
  let privateKey: string;
  let publicKey: string;

  before(() => {
    lab = tinyLab('tiny-identity');
    ({ dir, driver, privateKey, publicKey } = lab);
  });
  after(() => lab.close());

  const specFor = (id: string, sshPort: number, userData?: string): InstanceSpec => ({
    id,
    hostname: `ident-${id}`,
    memoryMb: 256,
    vcpus: 1,
    diskGb: 1,
    sshPort,
    boot: { kind: 'kernel', kernel: path.join(TINY_DIR, 'vmlinuz'), initrd: path.join(TINY_DIR, 'initrd.img'), cmdline: 'console=ttyS0 panic=-1' },
    seed: seedFiles({ instanceId: id, hostname: `ident-${id}`, sshAuthorizedKeys: [publicKey], userData }),
    info: { name: `ident-${id}` },
  });
  const ssh = async (spec: InstanceSpec, command: string) => {
    await waitForSshBanner(spec.sshPort, 180_000);
    return sshExec({ port: spec.sshPort, privateKey, command, timeoutMs: 60_000 });
  };
  /** The ed25519 host key the VM's sshd presents to clients (what ends up in known_hosts). */
  const hostKey = async (spec: InstanceSpec) => {
    await waitForSshBanner(spec.sshPort, 180_000);
    const out = execFileSync('ssh-keyscan', ['-T', '20', '-t', 'ed25519', '-p', String(spec.sshPort), '127.0.0.1'], { timeout: 60_000, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const key = out.split('\n').find((l) => l.includes('ssh-ed25519'))?.split(/\s+/)[2];
    assert.ok(key, `no host key from port ${spec.sshPort}: ${out}`);
    return key;
  };
  const serialLog = (id: string) => readFileSync(path.join(dir, 'vms', id, 'serial.log'), 'utf8');
  const diskOf = (id: string) => path.join(dir, 'vms', id, 'disk.qcow2');
  /** /data's size in 1K blocks, as `df` shows it inside the guest. */
  const dataKib = async (spec: InstanceSpec) => Number((await ssh(spec, 'df -k /data | tail -1')).trim().split(/\s+/)[1]);

  /** The VM of the first test, grown by the last one. */
  let once: InstanceSpec;

  test('a "#!" user-data script runs once, not again after a reboot', async () => {
    once = specFor('vm-1', PORTS.once, '#!/bin/sh\necho "ran as $(hostname)" >> /data/user-data-runs\n');
    await driver.create(once);
    await driver.start(once.id);
    // It runs in the background once the identity is applied: wait for its mark.
    const runs = await until('the user-data to run', async () => (await ssh(once, 'cat /data/user-data-runs 2>/dev/null || true')) || undefined, 60_000);
    assert.equal(runs.trim(), 'ran as ident-vm-1');
    assert.match(await ssh(once, 'cat /var/log/user-data.log'), /ran as|exited 0/);
    assert.match(serialLog(once.id), /twarga: running user-data/);

    await driver.stop(once.id);
    const logBefore = serialLog(once.id).length;
    await driver.start(once.id);
    await ssh(once, 'true');
    // Give a second run (if there were one) the time the first one needed.
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal((await ssh(once, 'cat /data/user-data-runs')).trim(), 'ran as ident-vm-1', 'ran exactly once');
    assert.doesNotMatch(serialLog(once.id).slice(logBefore), /running user-data|new instance/);
  });

  test('a disk copied from another VM keeps its files but gets its own host key and machine-id; a reboot keeps them', async () => {
    const first = specFor('vm-2', PORTS.first);
    await driver.create(first);
    await driver.start(first.id);
    await ssh(first, 'echo "made on first" > /data/keep.txt && sync');
    const firstKey = await hostKey(first);
    const firstMachineId = (await ssh(first, 'cat /etc/machine-id')).trim();
    assert.match(firstMachineId, /^[0-9a-f]{32}$/);
    await driver.stop(first.id);

    // What a VM made from first's snapshot boots: first's disk, its own seed (another instance-id).
    const copy = specFor('vm-3', PORTS.copy);
    await driver.create(copy);
    copyFileSync(diskOf(first.id), diskOf(copy.id));
    await driver.start(copy.id);
    assert.equal((await ssh(copy, 'cat /data/keep.txt')).trim(), 'made on first', '/data kept');
    const copyKey = await hostKey(copy);
    const copyMachineId = (await ssh(copy, 'cat /etc/machine-id')).trim();
    assert.notEqual(copyKey, firstKey, 'a new host key for the new instance');
    assert.match(copyMachineId, /^[0-9a-f]{32}$/);
    assert.notEqual(copyMachineId, firstMachineId, 'a new machine-id for the new instance');
    assert.equal((await ssh(copy, 'hostname')).trim(), 'ident-vm-3');

    // Same instance-id (a reboot, or a restore of its own snapshot): same host key and machine-id.
    await driver.stop(copy.id);
    await driver.start(copy.id);
    assert.equal(await hostKey(copy), copyKey, 'host key kept across a reboot');
    assert.equal((await ssh(copy, 'cat /etc/machine-id')).trim(), copyMachineId, 'machine-id kept across a reboot');
    await driver.stop(copy.id);
  });

  test('a disk grown while the VM is stopped shows its new size in /data', async () => {
    assert.ok(once, 'needs the VM of the first test');
    const before = await dataKib(once);
    assert.ok(before > 900_000 && before < 1_100_000, `1 GiB /data at first, got ${before} KiB`);
    await driver.stop(once.id);
    execFileSync('qemu-img', ['resize', '-q', diskOf(once.id), '2G'], { timeout: 60_000 });
    await driver.start(once.id);
    const after = await dataKib(once);
    assert.ok(after > 1_900_000, `2 GiB /data after the resize, got ${after} KiB`);
    // Grown, not reformatted: what it held is still there.
    assert.equal((await ssh(once, 'cat /data/user-data-runs')).trim(), 'ran as ident-vm-1');
    await driver.stop(once.id);
  });
});
