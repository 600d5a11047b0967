import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { createHarness, type Harness } from '../../test-support/harness.js';

/** A real key pair made by OpenSSH, and what ssh-keygen says its fingerprints are. */
function opensshKey(type: 'ed25519' | 'rsa' | 'ecdsa', bits?: number) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'twarga-key-'));
  try {
    const file = path.join(dir, 'id');
    execFileSync('ssh-keygen', ['-q', '-t', type, ...(bits ? ['-b', String(bits)] : []), '-N', '', '-C', `test@${type}`, '-f', file], { timeout: 30_000 });
    const fp = (hash: string) => execFileSync('ssh-keygen', ['-l', '-E', hash, '-f', `${file}.pub`], { timeout: 10_000 }).toString().split(' ')[1]!;
    return { publicKey: readFileSync(`${file}.pub`, 'utf8'), privateKey: readFileSync(file, 'utf8'), sha256: fp('sha256'), md5: fp('md5').replace(/^MD5:/, '') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const kind of testDatabaseKinds()) {
  describe(`SSH keys (${kind})`, () => {
    let h: Harness;
    let token: string;
    before(async () => {
      h = await createHarness(kind);
      token = (await h.user('keymaster')).token;
    });
    after(() => h.close());

    const add = (body: Record<string, unknown>, t = token) => h.request({ method: 'POST', url: '/api/account/keys', token: t, body });

    for (const [type, bits] of [['ed25519', undefined], ['rsa', 3072], ['ecdsa', 256]] as const) {
      test(`an OpenSSH ${type} key is stored with the fingerprints ssh-keygen prints`, async () => {
        const key = opensshKey(type, bits);
        const res = await add({ name: `${type} laptop`, public_key: key.publicKey });
        assert.equal(res.statusCode, 201, res.body);
        const body = res.json();
        assert.equal(body.fingerprint, key.sha256);
        assert.equal(body.fingerprint_md5, key.md5);
        assert.equal(body.public_key, key.publicKey.trim());
        assert.ok(body.id > 0);
        const got = await h.request({ method: 'GET', url: `/api/account/keys/${body.id}`, token });
        assert.equal(got.json().fingerprint, key.sha256);
      });
    }

    test('the same key twice is a 409', async () => {
      const key = opensshKey('ed25519');
      assert.equal((await add({ name: 'one', public_key: key.publicKey })).statusCode, 201);
      const again = await add({ name: 'two', public_key: key.publicKey.replace(/test@\S+/, 'other-comment') });
      assert.equal(again.statusCode, 409);
      assert.equal(again.json().details[0].field, 'public_key');
    });

    test('invalid keys are 400 on the public_key field and nothing is stored', async () => {
      const before = (await h.request({ method: 'GET', url: '/api/account/keys', token })).json().length;
      const weakRsa = opensshKey('rsa', 1024);
      const privateKey = opensshKey('ed25519').privateKey;
      for (const public_key of ['ssh-ed25519 not-base64!!', 'hello world this is not a key', privateKey, weakRsa.publicKey, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\nssh-rsa AAAA']) {
        const res = await add({ name: 'bad', public_key });
        assert.equal(res.statusCode, 400, `${public_key.slice(0, 40)} → ${res.body}`);
        assert.equal(res.json().code, 'validation_failed');
        assert.ok(res.json().details.some((d: { field: string }) => d.field === 'public_key'), res.body);
      }
      assert.equal((await h.request({ method: 'GET', url: '/api/account/keys', token })).json().length, before);
    });

    test('a comment longer than 255 characters or with control characters, or a name over 64, is a 400', async () => {
      const [type, body] = opensshKey('ed25519').publicKey.trim().split(' ');
      const base = `${type} ${body}`;
      const cases: [Record<string, unknown>, string, RegExp][] = [
        [{ name: 'long comment', public_key: `${base} ${'c'.repeat(256)}` }, 'public_key', /at most 255/],
        [{ name: 'escape', public_key: `${base} evil\u001b]0;pwned\u0007` }, 'public_key', /control characters/],
        [{ name: 'n'.repeat(65), public_key: `${base} ok` }, 'name', /64/],
      ];
      for (const [req, field, message] of cases) {
        const res = await add(req);
        assert.equal(res.statusCode, 400, res.body);
        assert.equal(res.json().code, 'validation_failed');
        const detail = res.json().details.find((d: { field: string }) => d.field === field);
        assert.ok(detail, res.body);
        assert.match(detail.message, message);
      }
      const ok = await add({ name: 'longest', public_key: `${base} ${'c'.repeat(255)}` });
      assert.equal(ok.statusCode, 201, ok.body);
      assert.ok(ok.json().public_key.endsWith('c'.repeat(255)));
    });

    test("another user's key is invisible: 404 on read and delete", async () => {
      const mine = (await add({ name: 'mine', public_key: opensshKey('ed25519').publicKey })).json();
      const other = await h.user('intruder');
      assert.equal((await h.request({ method: 'GET', url: `/api/account/keys/${mine.id}`, token: other.token })).statusCode, 404);
      assert.equal((await h.request({ method: 'DELETE', url: `/api/account/keys/${mine.id}`, token: other.token })).statusCode, 404);
      assert.deepEqual((await h.request({ method: 'GET', url: '/api/account/keys', token: other.token })).json(), []);
      assert.equal((await h.request({ method: 'DELETE', url: `/api/account/keys/${mine.id}`, token })).statusCode, 204);
      assert.equal((await h.request({ method: 'GET', url: `/api/account/keys/${mine.id}`, token })).statusCode, 404);
      const ev = await h.services.events.list({ action: 'ssh_key.deleted' });
      assert.ok(ev.some((e) => e.username === 'keymaster'));
    });
  });

  describe(`SSH key limit per user (${kind})`, () => {
    let h: Harness;
    before(async () => {
      h = await createHarness(kind, { maxKeysPerUser: 2 });
    });
    after(() => h.close());

    test('past maxKeysPerUser a new key is 403 quota_exceeded; deleting one makes room', async () => {
      const { token } = await h.user('collector');
      const add = (name: string) => h.request({ method: 'POST', url: '/api/account/keys', token, body: { name, public_key: opensshKey('ed25519').publicKey } });
      const first = (await add('k1')).json();
      assert.equal((await add('k2')).statusCode, 201);
      const over = await add('k3');
      assert.equal(over.statusCode, 403, over.body);
      assert.equal(over.json().code, 'quota_exceeded');
      assert.match(over.json().message, /at most 2 SSH keys/);
      assert.equal((await h.request({ method: 'GET', url: '/api/account/keys', token })).json().length, 2);
      const other = await h.user('minimalist');
      assert.equal((await h.request({ method: 'POST', url: '/api/account/keys', token: other.token, body: { name: 'k', public_key: opensshKey('ed25519').publicKey } })).statusCode, 201, 'per user');
      assert.equal((await h.request({ method: 'DELETE', url: `/api/account/keys/${first.id}`, token })).statusCode, 204);
      assert.equal((await add('k3')).statusCode, 201);
    });
  });
}
