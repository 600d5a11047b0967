import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { seedFiles } from '../../cloudinit/seed-iso.js';
import { dropbearEd25519HostKey, identityInput } from './warm-guest.js';

/** PKCS#8 DER prefix of an ed25519 private key: the 32-byte seed follows. */
const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex');

test('host keys are dropbear ed25519 key files whose seed matches their public key, new each time', () => {
  const a = dropbearEd25519HostKey();
  const b = dropbearEd25519HostKey();
  assert.notDeepEqual(a.file, b.file, 'never the same key twice');
  assert.equal(a.file.length, 83);
  assert.equal(a.file.readUInt32BE(0), 11);
  assert.equal(a.file.subarray(4, 15).toString(), 'ssh-ed25519');
  assert.equal(a.file.readUInt32BE(15), 64);
  const seed = a.file.subarray(19, 51);
  const pub = a.file.subarray(51, 83);
  // The public half is the one the seed derives (a swapped or truncated layout would not match).
  const derived = createPublicKey(createPrivateKey({ key: Buffer.concat([ED25519_PKCS8, seed]), format: 'der', type: 'pkcs8' }));
  assert.deepEqual(Buffer.from(derived.export({ format: 'jwk' }).x!, 'base64url'), pub);
  assert.equal(a.publicKey.split(' ')[1], Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), pub]).toString('base64'));
});

test('dropbear itself reads the host key file and derives the same public key', (t) => {
  try {
    execFileSync('dropbearkey', ['-h'], { stdio: 'ignore' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return t.skip('dropbearkey is not installed');
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'twarga-hostkey-'));
  try {
    const key = dropbearEd25519HostKey();
    writeFileSync(path.join(dir, 'key'), key.file, { mode: 0o600 });
    const out = execFileSync('dropbearkey', ['-y', '-f', path.join(dir, 'key')], { encoding: 'utf8', timeout: 10_000 });
    assert.match(out, new RegExp(`^${key.publicKey.replace(/[+/]/g, '\\$&')} `, 'm'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the identity on stdin carries the seed: instance-id, hostname, keys, new secrets, user-data only when it has a script', () => {
  const keys = ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOwner owner@laptop', 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ second'];
  const plain = seedFiles({ instanceId: 'vm-42-abc', hostname: 'web-1', sshAuthorizedKeys: keys });
  const hostKey = dropbearEd25519HostKey().file;
  const input = identityInput(plain, 1_700_000_000, hostKey);
  const lines = input.split('\n');
  assert.ok(lines.includes('now 1700000000'));
  assert.ok(lines.includes('instance-id vm-42-abc'));
  assert.ok(lines.includes('hostname web-1'));
  assert.ok(lines.includes(`host-key ${hostKey.toString('base64')}`));
  assert.deepEqual(lines.filter((l) => l.startsWith('ssh-key ')), keys.slice().sort().map((k) => `ssh-key ${k}`));
  assert.match(lines.find((l) => l.startsWith('entropy '))!, /^entropy [0-9a-f]{64}$/);
  assert.match(lines.find((l) => l.startsWith('machine-id '))!, /^machine-id [0-9a-f]{32}$/);
  assert.ok(!lines.includes('user-data'), 'a #cloud-config only user-data runs nothing: not sent');
  const again = identityInput(plain, 1_700_000_000, hostKey).split('\n');
  assert.notEqual(again.find((l) => l.startsWith('entropy ')), lines.find((l) => l.startsWith('entropy ')));
  assert.notEqual(again.find((l) => l.startsWith('machine-id ')), lines.find((l) => l.startsWith('machine-id ')));

  const script = '#!/bin/sh\necho hi > /root/x\n';
  const withScript = seedFiles({ instanceId: 'vm-43', hostname: 'web-2', sshAuthorizedKeys: keys, userData: script });
  const input2 = identityInput(withScript, 1, hostKey);
  assert.ok(input2.includes('\nuser-data\n'), 'the user-data marker comes after the values');
  assert.equal(input2.slice(input2.indexOf('\nuser-data\n') + '\nuser-data\n'.length), withScript.userData, 'the user-data, verbatim, is the rest');
  assert.equal(input2.split('\nuser-data\n')[0]!.split('\n').filter((l) => l.startsWith('ssh-key ')).length, 2);
});

test('a value that cannot be one line is refused, never split into two lines', () => {
  const seed = { metaData: 'instance-id: "a\\nhost-key AAAA"\nlocal-hostname: "x"\n', userData: '#cloud-config\n' };
  assert.throws(() => identityInput(seed, 1, dropbearEd25519HostKey().file), /control character/);
  assert.throws(() => identityInput({ metaData: 'local-hostname: "x"\n', userData: '' }, 1, dropbearEd25519HostKey().file), /no instance-id/);
});
