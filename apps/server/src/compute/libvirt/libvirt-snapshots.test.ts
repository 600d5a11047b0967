import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { seedFiles } from '../../cloudinit/seed-iso.js';
import { canRebuild, canResize, hasSnapshots, type InstanceSpec } from '../driver.js';
import { TINY_DIR } from '../../test-support/driver-contract.js';
import { inPrivateNetns } from '../../test-support/netns.js';
import { sshExec, waitForSshBanner } from '../../test-support/ssh.js';
import { domainIdentity, domainXml, resizedDomainXml } from './domain-xml.js';
import { LibvirtDriver } from './libvirt-driver.js';
import { backupXml, parseJobState, snapshotIdsInVolList, snapshotVolumes } from './libvirt-snapshots.js';
import { cloneVolumeXml } from './storage-pool.js';
import { parseKeyValues, parseVolList, Virsh } from './virsh.js';

describe('libvirt snapshot, resize and rebuild builders (pure)', () => {
  test('snapshot volumes are named by prefix and snapshot id; anything else is refused', () => {
    assert.deepEqual(snapshotVolumes('twarga-', 'snap-12'), { disk: 'twarga-snap-12-disk.qcow2', memory: 'twarga-snap-12-memory.save' });
    assert.throws(() => snapshotVolumes('twarga-', '../x'), /invalid snapshot id/);
    assert.throws(() => snapshotVolumes('twarga-', 'snap-1/../../etc'), /invalid snapshot id/);
  });

  test('listSnapshots reads our snapshot disks from vol-list and nothing else', () => {
    const out = [
      ' twarga-snap-10-disk.qcow2   /p/twarga-snap-10-disk.qcow2',
      ' twarga-snap-2-disk.qcow2    /p/twarga-snap-2-disk.qcow2',
      ' twarga-snap-2-memory.save   /p/twarga-snap-2-memory.save',
      ' twarga-vm-3-disk.qcow2      /p/twarga-vm-3-disk.qcow2',
      ' other-snap-4-disk.qcow2     /p/other-snap-4-disk.qcow2',
      ' twarga-snap-x-disk.qcow2    /p/twarga-snap-x-disk.qcow2',
      ' shared-0123456789abcdef-vmlinuz /p/shared-0123456789abcdef-vmlinuz',
    ].join('\n');
    assert.deepEqual(snapshotIdsInVolList('twarga-', out), ['snap-2', 'snap-10']);
  });

  test('the backup XML copies vda into the target file as qcow2 and skips the seed', () => {
    const xml = backupXml('/var/lib/libvirt/images/p/twarga-snap-3-disk.qcow2');
    assert.match(xml, /^<domainbackup mode='push'>/);
    assert.match(xml, /<disk name='vda' backup='yes' type='file'>\s*<driver type='qcow2'\/>\s*<target file='\/var\/lib\/libvirt\/images\/p\/twarga-snap-3-disk\.qcow2'\/>/);
    assert.match(xml, /<disk name='vdb' backup='no'\/>/);
    assert.ok(backupXml("/p/a'b").includes("/p/a&apos;b"), 'escaped');
  });

  test('domjobinfo: a job runs until its type is None; --completed says how it ended', () => {
    assert.equal(parseJobState('Job type:         Unbounded\nOperation:        Backup\nTime elapsed:     12 ms\n'), 'running');
    assert.equal(parseJobState('Job type:         None\n'), 'none');
    assert.equal(parseJobState('Job type:         Completed\nOperation:        Backup\n'), 'completed');
    assert.equal(parseJobState('Job type:         Failed\nOperation:        Backup\n'), 'failed');
    assert.equal(parseJobState(''), 'none');
  });

  test('a clone volume is a standalone qcow2 (no backing store) of the given capacity', () => {
    const xml = cloneVolumeXml('twarga-snap-1-disk.qcow2', 1073741824);
    assert.match(xml, /<name>twarga-snap-1-disk\.qcow2<\/name>/);
    assert.match(xml, /<capacity unit='bytes'>1073741824<\/capacity>/);
    assert.match(xml, /<format type='qcow2'\/>/);
    assert.doesNotMatch(xml, /backingStore/);
    assert.throws(() => cloneVolumeXml('a/../b', 1), /invalid volume name/);
  });

  const inactive = [
    `<domain type='qemu'>`,
    `  <name>twarga-vm-7</name>`,
    `  <uuid>0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0</uuid>`,
    `  <memory unit='KiB'>262144</memory>`,
    `  <currentMemory unit='KiB'>262144</currentMemory>`,
    `  <vcpu placement='static'>1</vcpu>`,
    `  <devices>`,
    `    <interface type='network'>`,
    `      <mac address='52:54:00:ab:cd:ef'/>`,
    `      <source network='default'/>`,
    `    </interface>`,
    `  </devices>`,
    `</domain>`,
  ].join('\n');

  test('resize rewrites memory, currentMemory and vcpu of the inactive XML and keeps the rest', () => {
    const xml = resizedDomainXml(inactive, { memoryMb: 1024, vcpus: 2 });
    assert.match(xml, /<memory unit='MiB'>1024<\/memory>/);
    assert.match(xml, /<currentMemory unit='MiB'>1024<\/currentMemory>/);
    assert.match(xml, /<vcpu placement='static'>2<\/vcpu>/);
    assert.doesNotMatch(xml, /262144|>1<\/vcpu>/);
    assert.equal(xml.replace(/<(memory|currentMemory|vcpu)\b[^>]*>[0-9]+<\/\1>/g, ''), inactive.replace(/<(memory|currentMemory|vcpu)\b[^>]*>[0-9]+<\/\1>/g, ''));
    assert.match(resizedDomainXml(inactive.replace(`<vcpu placement='static'>1</vcpu>`, `<vcpu placement='static' current='1'>4</vcpu>`), { memoryMb: 512, vcpus: 3 }), /<vcpu placement='static'>3<\/vcpu>/);
    assert.throws(() => resizedDomainXml(inactive, { memoryMb: 0, vcpus: 1 }), /invalid resize target/);
    assert.throws(() => resizedDomainXml('<domain/>', { memoryMb: 256, vcpus: 1 }), /no <memory>/);
  });

  test('a rebuild keeps the uuid and MAC: read from the old XML, written into the new one', () => {
    const identity = domainIdentity(inactive);
    assert.deepEqual(identity, { uuid: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0', mac: '52:54:00:ab:cd:ef' });
    const spec: InstanceSpec = {
      id: 'vm-7', hostname: 'web-1', memoryMb: 512, vcpus: 2, diskGb: 10, sshPort: 24007,
      boot: { kind: 'disk', path: '/img/base.qcow2', format: 'qcow2' }, seed: { metaData: '', userData: '' }, info: {},
    };
    const xml = domainXml(spec, { name: 'twarga-vm-7', domainType: 'qemu', network: 'default', volumes: { disk: '/p/d.qcow2', seed: '/p/s.iso' }, consoleLog: '/l', ...identity });
    assert.match(xml, /<name>twarga-vm-7<\/name>\n {2}<uuid>0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0<\/uuid>/);
    assert.match(xml, /<source network='default'\/>\n\s*<mac address='52:54:00:ab:cd:ef'\/>/);
    const fresh = domainXml(spec, { name: 'twarga-vm-7', domainType: 'qemu', network: 'default', volumes: { disk: '/p/d.qcow2', seed: '/p/s.iso' }, consoleLog: '/l' });
    assert.doesNotMatch(fresh, /<uuid>|<mac /);
  });
});

/**
 * The real thing, against the private libvirtd of a test network namespace (tiny image, software
 * emulation), like libvirt-driver.test.ts:
 *   scripts/lib/run-in-libvirt-netns.sh env TWARGA_TEST_LIBVIRT=1 node --conditions=development --import tsx --test <this file>
 */
function unavailable(): string | undefined {
  if (!inPrivateNetns()) return 'not inside a network namespace with a private libvirtd (scripts/lib/run-in-libvirt-netns.sh)';
  try {
    execFileSync('virsh', ['-q', '-c', 'qemu:///system', 'version'], { timeout: 10_000, stdio: 'ignore' });
  } catch {
    return 'no libvirtd answers on qemu:///system';
  }
  if (!existsSync(path.join(TINY_DIR, 'vmlinuz'))) return `the tiny image is not built (${TINY_DIR})`;
  return undefined;
}
const reason = unavailable();
if (reason && process.env.TWARGA_TEST_LIBVIRT === '1') throw new Error(`libvirt tests required (TWARGA_TEST_LIBVIRT=1) but ${reason}`);

describe('libvirt snapshots, resize and rebuild (real libvirtd, tiny image)', { skip: reason }, () => {
  const run = randomBytes(4).toString('hex');
  const prefix = `twarga-snaptest-${run}-`;
  const pool = `twarga-snaptest-${run}`;
  const virsh = new Virsh('qemu:///system', { timeoutMs: 60_000 });
  let dir: string;
  let driver: LibvirtDriver;
  let privateKey: string;
  let pub: string;
  const spec = (id: string, hostname: string, extra: Partial<InstanceSpec> = {}): InstanceSpec => ({
    id, hostname, memoryMb: 256, vcpus: 1, diskGb: 1, sshPort: 22,
    boot: { kind: 'kernel', kernel: path.join(TINY_DIR, 'vmlinuz'), initrd: path.join(TINY_DIR, 'initrd.img'), cmdline: 'console=ttyS0 panic=-1' },
    seed: seedFiles({ instanceId: `${id}-${extra.fromSnapshot ?? 'fresh'}`, hostname, sshAuthorizedKeys: [pub] }),
    info: { name: hostname },
    ...extra,
  });
  const ssh = async (id: string, command: string) => {
    const ep = (await driver.inspect(id)).sshEndpoint;
    assert.ok(ep, `${id} has a lease`);
    await waitForSshBanner(ep.port, 120_000, ep.host);
    return sshExec({ host: ep.host, port: ep.port, privateKey, command, timeoutMs: 60_000 });
  };
  const agentAnswers = async (domain: string) => {
    for (const deadline = Date.now() + 120_000; ; await new Promise((r) => setTimeout(r, 500))) {
      const ping = await virsh.run(['qemu-agent-command', domain, '{"execute":"guest-ping"}'], { timeoutMs: 10_000 }).then(() => true, () => false);
      if (ping) return;
      if (Date.now() > deadline) assert.fail(`the guest agent of ${domain} never answered`);
    }
  };
  const vols = async () => parseVolList(await virsh.run(['vol-list', '--pool', pool])).map((v) => v.name);
  const a = spec('vm-1', 'snap-a');

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'twarga-lvsnap-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'key')]);
    privateKey = readFileSync(path.join(dir, 'key'), 'utf8');
    pub = readFileSync(path.join(dir, 'key.pub'), 'utf8').trim();
    Object.assign(a, spec('vm-1', 'snap-a'));
    driver = new LibvirtDriver({ uri: 'qemu:///system', poolName: pool, poolDir: `/var/lib/libvirt/images/${pool}`, namePrefix: prefix, consoleLogDir: path.join(dir, 'console'), stopTimeoutMs: 30_000 });
  });
  after(async () => {
    for (const id of ['vm-1', 'vm-2']) await driver.destroy(id).catch(() => {});
    for (const v of await vols().catch(() => [])) await virsh.run(['vol-delete', '--pool', pool, v]).catch(() => {});
    for (const cmd of ['pool-destroy', 'pool-delete', 'pool-undefine']) await virsh.run([cmd, pool]).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  test('the driver has the abilities', () => {
    assert.ok(hasSnapshots(driver) && canResize(driver) && canRebuild(driver));
  });

  test('running snapshot (quiesced through the agent), stopped snapshot; restore brings the disk back and leaves it stopped', async () => {
    await driver.create(a);
    await driver.start(a.id);
    await ssh(a.id, 'echo before > /data/before; sync');
    // SSH can answer before the guest agent does (a loaded CI run froze nothing): the claim is about a live agent.
    await agentAnswers(driver.domainName(a.id));
    const running = await driver.createSnapshot(a.id, 'snap-1', { memory: false });
    assert.equal((await driver.inspect(a.id)).state, 'running', 'still running after a disk snapshot');
    assert.deepEqual([running.memory, running.quiesced], [false, true], 'frozen through the guest agent (the tiny image runs qemu-ga)');
    assert.ok(running.sizeBytes > 0, JSON.stringify(running));
    await ssh(a.id, 'echo after > /data/after; sync');
    await driver.stop(a.id, { force: true });
    const stopped = await driver.createSnapshot(a.id, 'snap-2', { memory: false });
    assert.deepEqual([stopped.memory, stopped.quiesced], [false, false]);
    assert.equal((await driver.inspect(a.id)).state, 'stopped', 'still stopped');
    assert.deepEqual(await driver.listSnapshots(), ['snap-1', 'snap-2']);
    // The snapshot volume is standalone: no backing file.
    assert.doesNotMatch(await virsh.run(['vol-dumpxml', '--pool', pool, `${prefix}snap-1-disk.qcow2`]), /<backingStore>\s*<path>/);

    assert.deepEqual(await driver.restoreSnapshot(a.id, 'snap-1'), { running: false });
    assert.equal((await driver.inspect(a.id)).state, 'stopped');
    await driver.start(a.id);
    assert.equal((await ssh(a.id, 'cat /data/before; ls /data')).split('\n')[0], 'before');
    assert.doesNotMatch(await ssh(a.id, 'ls /data'), /\bafter\b/, 'written after the snapshot: gone');
    console.log(`# running snapshot: ${JSON.stringify(running)}; stopped: ${JSON.stringify(stopped)}`);
  });

  test('a memory snapshot of a running domain: it keeps running; restore resumes the saved RAM', async () => {
    await ssh(a.id, 'echo in-ram > /run/marker');
    const snap = await driver.createSnapshot(a.id, 'snap-3', { memory: true });
    assert.equal(snap.memory, true);
    assert.ok(snap.sizeBytes > 16 * 1024 * 1024, `RAM is in the size: ${snap.sizeBytes}`);
    assert.equal((await driver.inspect(a.id)).state, 'running');
    assert.equal((await ssh(a.id, 'cat /run/marker')).trim(), 'in-ram', 'the guest ran on (same RAM)');
    await ssh(a.id, 'echo later > /run/marker; echo later > /data/later; sync');
    assert.deepEqual(await driver.restoreSnapshot(a.id, 'snap-3'), { running: true });
    assert.equal((await driver.inspect(a.id)).state, 'running');
    assert.equal((await ssh(a.id, 'cat /run/marker')).trim(), 'in-ram', 'RAM as at the snapshot');
    assert.doesNotMatch(await ssh(a.id, 'ls /data'), /\blater\b/, 'disk as at the snapshot');
    await driver.deleteSnapshot('snap-3');
    assert.ok(!(await vols()).some((v) => v.startsWith(`${prefix}snap-3-`)), 'both volumes deleted');
    await driver.deleteSnapshot('snap-3'); // again: harmless
  });

  test('resize: refused while running; stopped: new RAM and vCPUs in the same definition, the disk volume grows', async () => {
    await assert.rejects(driver.resize(a.id, { memoryMb: 384, vcpus: 2, diskGb: 2 }), /cannot resize the running libvirt domain .*: stop it first/);
    await driver.stop(a.id, { force: true });
    const uuid = (await virsh.run(['domuuid', `${prefix}vm-1`])).trim();
    await driver.resize(a.id, { memoryMb: 384, vcpus: 2, diskGb: 2 });
    const info = parseKeyValues(await virsh.run(['dominfo', `${prefix}vm-1`]));
    assert.equal(info['max memory'], `${384 * 1024} KiB`);
    assert.equal(info['cpu(s)'], '2');
    assert.equal((await virsh.run(['domuuid', `${prefix}vm-1`])).trim(), uuid, 'same domain');
    assert.match(await virsh.run(['vol-info', '--pool', pool, `${prefix}vm-1-disk.qcow2`, '--bytes']), new RegExp(`Capacity:\\s+${2 * 1024 ** 3} bytes`));
    // What the guest sees after the resize (RAM, vCPUs, disk, /data) is checked through the API in
    // tests/integration/libvirt-snapshots.test.ts (one boot less here).
  });

  test('a new instance from a snapshot starts with its disk (grown to its size); the snapshot survives the source\'s destroy', async () => {
    await driver.stop(a.id, { force: true });
    const b = spec('vm-2', 'snap-b', { fromSnapshot: 'snap-2', diskGb: 2 });
    await driver.create(b);
    await driver.create(b); // again: harmless
    await driver.start(b.id);
    assert.match(await ssh(b.id, 'hostname; cat /data/before /data/after'), /snap-b\s+before\s+after/);
    await driver.destroy(b.id);
    await assert.rejects(driver.create(spec('vm-2', 'snap-b', { fromSnapshot: 'snap-99' })), /snap-99 has no disk volume/);
  });

  test('rebuild: a fresh disk, same uuid and MAC, the domain stays stopped; delete and list', async () => {
    const before = domainIdentity(await virsh.run(['dumpxml', `${prefix}vm-1`, '--inactive']));
    assert.ok((await driver.pool.info(`${prefix}vm-1-disk.qcow2`)).allocation > 512 * 1024, 'the old disk holds a filesystem and files');
    await driver.rebuild({ ...a, memoryMb: 384, vcpus: 2, diskGb: 2 });
    assert.equal((await driver.inspect(a.id)).state, 'stopped');
    assert.deepEqual(domainIdentity(await virsh.run(['dumpxml', `${prefix}vm-1`, '--inactive'])), before);
    // A fresh blank qcow2 (a few hundred KiB of metadata) instead of the old disk with its ext4 and files.
    const { allocation, capacity } = await driver.pool.info(`${prefix}vm-1-disk.qcow2`);
    assert.equal(capacity, 2 * 1024 ** 3);
    assert.ok(allocation < 512 * 1024, `the rebuilt disk is blank: ${allocation} bytes allocated`);
    await driver.destroy(a.id);
    assert.deepEqual(await driver.listSnapshots(), ['snap-1', 'snap-2'], 'snapshots outlive their instance');
    for (const s of ['snap-1', 'snap-2']) await driver.deleteSnapshot(s);
    assert.deepEqual(await driver.listSnapshots(), []);
    assert.deepEqual((await vols()).filter((v) => v.startsWith(prefix)), []);
  });
});
