import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { mimeBoundary, SEED_ISO_BYTES, seedFiles, writeSeedIso } from './seed-iso.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE5vdCBhIHJlYWwga2V5IGJ1dCBzaGFwZWQgbGlrZSBvbmU user@laptop';

interface MimePart {
  type: string;
  body: string;
}

/**
 * Parses user-data the way cloud-init does: Python's email package (cloud-init's
 * user_data.py calls email.message_from_string). Returns its leaf parts.
 */
function mimeParts(userData: string): MimePart[] {
  const script = [
    'import email, json, sys',
    'msg = email.message_from_string(sys.stdin.read())',
    'print(json.dumps([{"type": p.get_content_type(), "body": p.get_payload()} for p in msg.walk() if not p.is_multipart()]))',
  ].join('\n');
  return JSON.parse(execFileSync('python3', ['-c', script], { input: userData, encoding: 'utf8', timeout: 30_000 })) as MimePart[];
}

/** A cloud-config part is "#cloud-config" and then YAML. */
function cloudConfig(text: string): Record<string, unknown> {
  assert.ok(text.startsWith('#cloud-config\n'), text);
  return parse(text) as Record<string, unknown>;
}

describe('cloud-init seed', () => {
  test('meta-data and user-data parse back to the instance id, hostname and root keys', () => {
    const seed = seedFiles({ instanceId: 'vm-7', hostname: 'web-1', sshAuthorizedKeys: [KEY, 'ssh-rsa AAAAB3NzaC1yc2E second'] });
    assert.deepEqual(parse(seed.metaData), { 'instance-id': 'vm-7', 'local-hostname': 'web-1' });
    assert.deepEqual(cloudConfig(seed.userData), { hostname: 'web-1', disable_root: false, ssh_authorized_keys: [KEY, 'ssh-rsa AAAAB3NzaC1yc2E second'] });
    assert.deepEqual(cloudConfig(seedFiles({ instanceId: 'vm-7', hostname: 'web-1', sshAuthorizedKeys: [] }).userData).ssh_authorized_keys, []);
  });

  test('the tiny image can read them line by line: hostname and each key on one line', () => {
    const long = `${KEY} ${'c'.repeat(300)}`;
    const seed = seedFiles({ instanceId: 'vm-7', hostname: 'web-1', sshAuthorizedKeys: [long] });
    // images/tiny/rootfs/etc/init.d/rcS: sed on "local-hostname:" and on lines holding a key, quotes stripped.
    assert.match(seed.metaData, /^local-hostname: "?web-1"?$/m);
    assert.ok(seed.userData.split('\n').some((l) => l.replace(/^[ -]*"?|"?\s*$/g, '') === long), seed.userData);
  });

  test('YAML specials in the values cannot add keys', () => {
    const evilKey = `${KEY}\nruncmd: [touch /pwned]\n# "quoted": 'x' {a: b}`;
    const evilId = 'vm-1\nlocal-hostname: attacker';
    const seed = seedFiles({ instanceId: evilId, hostname: 'web-1', sshAuthorizedKeys: [evilKey] });
    assert.deepEqual(parse(seed.metaData), { 'instance-id': evilId, 'local-hostname': 'web-1' });
    const config = cloudConfig(seed.userData);
    assert.deepEqual(Object.keys(config).sort(), ['disable_root', 'hostname', 'ssh_authorized_keys']);
    assert.deepEqual(config.ssh_authorized_keys, [evilKey]);
  });

  test('a hostname that is not a host name is refused', () => {
    for (const hostname of ['web-1\nruncmd: [reboot]', 'a b', '', '-web', 'web-', 'x'.repeat(64), 'web_1', 'web-1"']) {
      assert.throws(() => seedFiles({ instanceId: 'vm-1', hostname, sshAuthorizedKeys: [] }), /invalid hostname/, JSON.stringify(hostname));
    }
    assert.doesNotThrow(() => seedFiles({ instanceId: 'vm-1', hostname: 'a1.example-host.com', sshAuthorizedKeys: [] }));
  });

  test("the user's user-data is a second MIME part, typed by its first line, byte for byte", () => {
    const cases: [string, string][] = [
      ['#cloud-config\npackages: [htop]\n', 'text/cloud-config'],
      ['#!/bin/sh\necho hello > /tmp/x\n', 'text/x-shellscript'],
      ['#cloud-boothook\n#!/bin/sh\necho early\n', 'text/cloud-boothook'],
      ['#include\nhttps://example.com/config\n', 'text/x-include-url'],
    ];
    for (const [userData, type] of cases) {
      const seed = seedFiles({ instanceId: 'vm-1', hostname: 'web-1', sshAuthorizedKeys: [KEY], userData });
      const parts = mimeParts(seed.userData);
      assert.equal(parts.length, 2);
      assert.equal(parts[0]!.type, 'text/cloud-config');
      assert.deepEqual(cloudConfig(parts[0]!.body).ssh_authorized_keys, [KEY]);
      assert.deepEqual(parts[1], { type, body: userData });
    }
  });

  test('user-data holding MIME boundaries and headers cannot end its part or add one', () => {
    // What an attacker would try against a predictable boundary such as "twarga-<instance id>".
    const userData = [
      '#cloud-config',
      'packages: [htop]',
      '--twarga-vm-1',
      'Content-Type: text/x-shellscript',
      '',
      '#!/bin/sh',
      'echo injected',
      '--twarga-vm-1--',
      '',
    ].join('\n');
    const seed = seedFiles({ instanceId: 'vm-1', hostname: 'web-1', sshAuthorizedKeys: [KEY], userData });
    const parts = mimeParts(seed.userData);
    assert.equal(parts.length, 2);
    assert.deepEqual(parts[1], { type: 'text/cloud-config', body: userData });
  });

  test('the boundary is random and never one that occurs in a part', () => {
    const a = seedFiles({ instanceId: 'vm-1', hostname: 'web-1', sshAuthorizedKeys: [], userData: '#!/bin/sh\n' });
    const b = seedFiles({ instanceId: 'vm-1', hostname: 'web-1', sshAuthorizedKeys: [], userData: '#!/bin/sh\n' });
    const boundaryOf = (u: string) => /boundary="([^"]+)"/.exec(u)![1]!;
    assert.notEqual(boundaryOf(a.userData), boundaryOf(b.userData));
    assert.match(boundaryOf(a.userData), /^twarga-[0-9a-f]{32}$/);
    // A random source that first yields a value already present in a part: that one is skipped.
    const draws = ['aaaa', 'aaaa', 'bbbb'];
    assert.equal(mimeBoundary(['x twarga-aaaa y', 'z'], () => draws.shift()!), 'twarga-bbbb');
  });

  test('writeSeedIso builds a NoCloud ISO (label cidata) holding exactly the two files', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'twarga-seed-test-'));
    try {
      const seed = seedFiles({ instanceId: 'vm-1', hostname: 'web-1', sshAuthorizedKeys: [KEY], userData: '#!/bin/sh\necho é ✓\n' });
      const iso = path.join(dir, 'seed.iso');
      await writeSeedIso(iso, seed);
      const isoinfo = (...args: string[]) => execFileSync('isoinfo', ['-i', iso, ...args], { encoding: 'utf8', timeout: 30_000 });
      assert.match(isoinfo('-d'), /^Volume id: cidata$/m);
      const names = isoinfo('-R', '-f').split('\n').filter(Boolean).sort();
      assert.deepEqual(names, ['/meta-data', '/user-data']);
      assert.equal(isoinfo('-R', '-x', '/meta-data'), seed.metaData);
      assert.equal(isoinfo('-R', '-x', '/user-data'), seed.userData);
      // Always 1 MiB, whatever it holds: the guest's seed device has one size in a warm snapshot and in every VM.
      assert.equal(statSync(iso).size, SEED_ISO_BYTES);
      const big = path.join(dir, 'big.iso');
      await writeSeedIso(big, seedFiles({ instanceId: 'vm-2', hostname: 'web-2', sshAuthorizedKeys: [KEY], userData: `#!/bin/sh
#${'x'.repeat(60_000)}
` }));
      assert.equal(statSync(big).size, SEED_ISO_BYTES);
      assert.equal(execFileSync('isoinfo', ['-i', big, '-R', '-x', '/meta-data'], { encoding: 'utf8', timeout: 30_000 }), seedFiles({ instanceId: 'vm-2', hostname: 'web-2', sshAuthorizedKeys: [KEY] }).metaData);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('writeSeedIso adds vendor-data when given (the QEMU driver gives the syslog forward)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'twarga-seed-test-'));
    try {
      const seed = seedFiles({ instanceId: 'vm-1', hostname: 'web-1', sshAuthorizedKeys: [KEY] });
      const iso = path.join(dir, 'seed.iso');
      const vendorData = '#cloud-config\nrsyslog: {}\n';
      await writeSeedIso(iso, { ...seed, vendorData });
      const isoinfo = (...args: string[]) => execFileSync('isoinfo', ['-i', iso, ...args], { encoding: 'utf8', timeout: 30_000 });
      assert.deepEqual(isoinfo('-R', '-f').split('\n').filter(Boolean).sort(), ['/meta-data', '/user-data', '/vendor-data']);
      assert.equal(isoinfo('-R', '-x', '/vendor-data'), vendorData);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
