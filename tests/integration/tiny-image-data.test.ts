import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { seedFiles } from '../../apps/server/src/cloudinit/seed-iso.js';
import type { QemuDriver } from '../../apps/server/src/compute/qemu/qemu-driver.js';
import { TINY_DIR, tinyLab } from '../support/tiny-lab.js';
import type { InstanceSpec } from '../../apps/server/src/compute/driver.js';
import { sshExec, waitForSshBanner } from '../../apps/server/src/test-support/ssh.js';
import { freePort } from '../support/server.js';
import { until } from '../support/until.js';


function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

/**
 * The tiny image's /data on the VM's own disk, with real QEMU (software emulation):
 * it must come back after the VM loses power (QEMU killed with SIGKILL), and disks formatted
 * ext2 by older images must be carried over.
 */
describe('tiny image: /data survives an unclean power-off', () => {
  let lab: ReturnType<typeof tinyLab>;
  let dir: string;
  let driver: QemuDriver;
  let privateKey: string;
  let publicKey: string;

  before(() => {
    lab = tinyLab('tiny-data');
    ({ dir, driver, privateKey, publicKey } = lab);
  });
  after(() => lab.close());

  const specFor = async (id: string): Promise<InstanceSpec> => ({
    id,
    hostname: `data-${id}`,
    memoryMb: 256,
    vcpus: 1,
    diskGb: 1,
    sshPort: await freePort(),
    boot: { kind: 'kernel', kernel: path.join(TINY_DIR, 'vmlinuz'), initrd: path.join(TINY_DIR, 'initrd.img'), cmdline: 'console=ttyS0 panic=-1' },
    seed: seedFiles({ instanceId: id, hostname: `data-${id}`, sshAuthorizedKeys: [publicKey] }),
    info: { name: `data-${id}` },
  });
  const ssh = async (spec: InstanceSpec, command: string) => {
    await waitForSshBanner(spec.sshPort, 180_000);
    return sshExec({ port: spec.sshPort, privateKey, command, timeoutMs: 60_000 });
  };
  const serialLog = (id: string) => readFileSync(path.join(dir, 'vms', id, 'serial.log'), 'utf8');
  /** /data's line in /proc/mounts: "<device> /data <type> <options>". */
  const dataMount = async (spec: InstanceSpec) => (await ssh(spec, "grep ' /data ' /proc/mounts")).trim().split(/\s+/);

  test('a file written and synced in /data is there after QEMU is killed and the VM started again', async () => {
    const spec = await specFor('vm-1');
    await driver.create(spec);
    await driver.start(spec.id);
    const [, , type, options] = await dataMount(spec);
    assert.equal(type, 'ext4');
    assert.match(options!, /^rw\b/);
    assert.match(await ssh(spec, '/sbin/tune2fs -l /dev/vda'), /features:.*has_journal/, 'ext4 with a journal');

    const proof = `written before the power cut ${Date.now()}`;
    await ssh(spec, `echo '${proof}' > /data/proof.txt && mkdir -p /data/dir && seq 1 5000 > /data/dir/numbers && sync`);

    // The power cut: SIGKILL, so neither the guest nor QEMU gets to unmount or flush anything.
    const pid = (await driver.inspect(spec.id)).pid!;
    process.kill(pid, 'SIGKILL');
    await until('QEMU gone', async () => (alive(pid) ? undefined : true));
    assert.equal((await driver.inspect(spec.id)).state, 'stopped');
    const logBefore = serialLog(spec.id).length;

    await driver.start(spec.id);
    assert.equal((await ssh(spec, 'cat /data/proof.txt')).trim(), proof);
    assert.equal((await ssh(spec, 'tail -1 /data/dir/numbers')).trim(), '5000');
    const [, , type2, options2] = await dataMount(spec);
    assert.equal(type2, 'ext4');
    assert.match(options2!, /^rw\b/, 'mounted read-write, not fallen back to read-only');
    // The check before the mount saw the unclean filesystem and replayed its journal.
    const boot2 = serialLog(spec.id).slice(logBefore);
    assert.match(boot2, /data: recovering journal/, boot2.slice(-3000));
    assert.doesNotMatch(boot2, /could not be mounted|UNEXPECTED INCONSISTENCY/);
    await ssh(spec, 'echo still-writable > /data/after.txt && sync');
    await driver.stop(spec.id);
  });

  test('a /data disk formatted ext2 by an older image keeps its files and gets a journal', async () => {
    const spec = await specFor('vm-2');
    await driver.create(spec);
    // What older images left on the disk: ext2 labelled data, with a file in it.
    const content = path.join(dir, 'legacy');
    mkdirSync(content);
    writeFileSync(path.join(content, 'legacy.txt'), 'from the ext2 days\n');
    const raw = path.join(dir, 'legacy.img');
    execFileSync('mke2fs', ['-q', '-t', 'ext2', '-L', 'data', '-d', content, raw, '1G'], { timeout: 60_000 });
    execFileSync('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', raw, path.join(dir, 'vms', spec.id, 'disk.qcow2')], { timeout: 60_000 });
    rmSync(raw);

    await driver.start(spec.id);
    assert.equal((await ssh(spec, 'cat /data/legacy.txt')).trim(), 'from the ext2 days');
    assert.equal((await dataMount(spec))[2], 'ext4');
    assert.match(await ssh(spec, '/sbin/tune2fs -l /dev/vda'), /features:.*has_journal/);
    await driver.stop(spec.id);
  });
});
