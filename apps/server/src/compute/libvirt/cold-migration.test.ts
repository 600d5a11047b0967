import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { seedFiles } from '../../cloudinit/seed-iso.js';
import type { InstanceSpec } from '../driver.js';
import { TINY_DIR } from '../../test-support/driver-contract.js';
import { inPrivateNetns } from '../../test-support/netns.js';
import { waitForSshBanner } from '../../test-support/ssh.js';
import { domainFilePaths, migrateStoppedInstance, relocatedDomainXml } from './cold-migration.js';
import { LibvirtDriver } from './libvirt-driver.js';
import { parseVolList, Virsh } from './virsh.js';

test('a definition\'s files are found and moved, nothing else in it changes', () => {
  const xml = "<domain><os><kernel>/p/a/k</kernel><initrd>/p/a/i</initrd></os><disk><source file='/p/a/d.qcow2'/></disk><disk><source file=\"/p/a/s.iso\"/></disk><name>/p/a/k</name></domain>";
  assert.deepEqual(domainFilePaths(xml), ['/p/a/k', '/p/a/i', '/p/a/d.qcow2', '/p/a/s.iso']);
  const moved = relocatedDomainXml(xml, new Map([['/p/a/k', '/q/b/k'], ['/p/a/d.qcow2', '/q/b/d.qcow2']]));
  assert.equal(moved, "<domain><os><kernel>/q/b/k</kernel><initrd>/p/a/i</initrd></os><disk><source file='/q/b/d.qcow2'/></disk><disk><source file=\"/p/a/s.iso\"/></disk><name>/p/a/k</name></domain>");
});

/**
 * Cold migration between two libvirt hosts for real: the private libvirtd of the test run through
 * its socket (pool A) and over TCP as a remote host (pool B), as scripts/lib/run-in-libvirt-netns.sh
 * provides. Skips outside it unless TWARGA_TEST_LIBVIRT=1.
 */
async function unavailable(): Promise<string | undefined> {
  let why: string | undefined;
  if (!inPrivateNetns()) why = 'not inside a network namespace with a private libvirtd (scripts/lib/run-in-libvirt-netns.sh)';
  else if (!existsSync(path.join(TINY_DIR, 'vmlinuz'))) why = `the tiny image is not built (${TINY_DIR})`;
  else await new Virsh('qemu+tcp://127.0.0.1/system').run(['version']).catch(() => (why = 'no libvirtd answers on qemu+tcp://127.0.0.1/system'));
  if (why && process.env.TWARGA_TEST_LIBVIRT === '1') throw new Error(`libvirt tests required (TWARGA_TEST_LIBVIRT=1) but ${why}`);
  return why;
}

describe('cold migration of a stopped libvirt instance', { skip: await unavailable() }, () => {
  const run = randomBytes(3).toString('hex');
  const prefix = `twarga-mig-${run}-`;
  const source = new LibvirtDriver({ uri: 'qemu:///system', poolName: `twarga-mig-${run}-a`, namePrefix: prefix });
  const target = new LibvirtDriver({ uri: 'qemu+tcp://127.0.0.1/system', poolName: `twarga-mig-${run}-b`, namePrefix: prefix });
  const id = 'vm-1';
  const name = `${prefix}${id}`;
  let dir: string;
  const volumes = async (d: LibvirtDriver) => parseVolList(await d.virsh.run(['vol-list', '--pool', d.poolName])).map((v) => v.name).filter((v) => v.startsWith(name)).sort();
  const diskHash = async (d: LibvirtDriver) => {
    const file = path.join(dir, `${d.poolName}.qcow2`);
    await d.virsh.run(['vol-download', '--pool', d.poolName, `${name}-disk.qcow2`, file]);
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  };

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'twarga-mig-'));
    const spec: InstanceSpec = {
      id, hostname: 'migrated', memoryMb: 256, vcpus: 1, diskGb: 1, sshPort: 22,
      boot: { kind: 'kernel', kernel: path.join(TINY_DIR, 'vmlinuz'), initrd: path.join(TINY_DIR, 'initrd.img'), cmdline: 'console=ttyS0 panic=-1' },
      seed: seedFiles({ instanceId: id, hostname: 'migrated', sshAuthorizedKeys: [] }), info: { name: 'migrated' },
    };
    await source.create(spec);
  });
  after(async () => {
    for (const d of [target, source]) await d.destroy(id).catch(() => {});
    for (const d of [source, target]) {
      for (const vol of parseVolList((await d.virsh.runIfExists(['vol-list', '--pool', d.poolName])) ?? '')) await d.pool.remove(vol.name).catch(() => {});
      for (const verb of ['pool-destroy', 'pool-delete', 'pool-undefine']) await d.virsh.run([verb, d.poolName]).catch(() => {});
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test('a failure on the target leaves the source as it was and no copy behind', async () => {
    const before = await source.virsh.run(['dumpxml', name, '--inactive']);
    // The target's `virsh define` fails (a target libvirtd refusing the domain); every other command is real.
    const failingVirsh = path.join(dir, 'virsh-define-fails');
    writeFileSync(failingVirsh, '#!/bin/sh\nfor a; do [ "$a" = define ] && { echo "error: injected define failure" >&2; exit 1; }; done\nexec virsh "$@"\n');
    chmodSync(failingVirsh, 0o755);
    const failing = new LibvirtDriver({ uri: target.virsh.uri, poolName: target.poolName, namePrefix: prefix, virshBinary: failingVirsh });
    await assert.rejects(migrateStoppedInstance(source, failing, id), /injected define failure/);
    // Defined again from the saved XML (libvirt may order its controllers differently): same identity, same files.
    const identity = (xml: string) => ({ uuid: /<uuid>([^<]+)/.exec(xml)?.[1], mac: /<mac address='([^']+)/.exec(xml)?.[1], files: domainFilePaths(xml) });
    assert.deepEqual(identity(await source.virsh.run(['dumpxml', name, '--inactive'])), identity(before), 'the source definition is back');
    assert.deepEqual(await volumes(source), [`${name}-disk.qcow2`, `${name}-seed.iso`]);
    assert.deepEqual(await volumes(target), [], 'no copy of the instance is left on the target');
  });

  test('copied, verified and defined on the target, the instance boots there; the source keeps nothing of it', async () => {
    const hash = await diskHash(source);
    const { removeSourceVolumes } = await migrateStoppedInstance(source, target, id);
    await removeSourceVolumes();
    assert.deepEqual(await volumes(source), [], 'the source pool holds nothing of the instance');
    assert.deepEqual(await volumes(target), [`${name}-disk.qcow2`, `${name}-seed.iso`]);
    assert.equal(await diskHash(target), hash, 'the disk arrived byte for byte');
    const files = domainFilePaths(await target.virsh.run(['dumpxml', name, '--inactive']));
    assert.deepEqual([...new Set(files.map((f) => path.dirname(f)))], [target.poolDir], 'every file the domain uses is in the target pool');
    await target.start(id);
    const seen = await target.inspect(id);
    assert.equal(seen.state, 'running');
    await waitForSshBanner(22, 90_000, seen.sshEndpoint!.host);
    await assert.rejects(migrateStoppedInstance(target, source, id), /is running: stop it first/);
  });
});
