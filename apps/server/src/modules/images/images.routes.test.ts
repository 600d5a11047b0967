import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { FakeDriver } from '../../test-support/fake-driver.js';
import { createHarness, type Harness } from '../../test-support/harness.js';
import { checksumFromSums } from './image-download.js';

/**
 * Cloud images by URL, downloaded from a local HTTP server on loopback. The harness lists
 * `localhost` in imageMirrorHosts (a trusted local mirror may resolve to a private address);
 * the same server reached as 127.0.0.1 is NOT a mirror and must be refused before any request.
 */
for (const kind of testDatabaseKinds()) {
  describe(`image catalog and verified downloads (${kind})`, () => {
    let h: Harness;
    let driver: FakeDriver;
    let http: Server;
    let port: number;
    let base: string;
    let dir: string;
    let image: Buffer;
    let admin: string;
    let user: string;
    /** Something only the host can read (think cloud metadata credentials). */
    const secret = Buffer.from('AKIA-SECRET-ACCESS-KEY-for-the-host-only\n');
    const secretSha256 = createHash('sha256').update(secret).digest('hex');
    let secretHits = 0;

    before(async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'twarga-img-'));
      execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', path.join(dir, 'cloud.qcow2'), '64M']);
      image = readFileSync(path.join(dir, 'cloud.qcow2'));
      const sha256 = createHash('sha256').update(image).digest('hex');
      http = createServer((req, res) => {
        if (req.url === '/images/cloud.qcow2') return res.writeHead(200, { 'content-length': image.length }).end(image);
        if (req.url === '/images/SHA256SUMS') return res.end(`${'0'.repeat(64)}  other.img\n${sha256} *cloud.qcow2\n`);
        if (req.url === '/images/secret') {
          secretHits++;
          return res.end(secret);
        }
        res.writeHead(404).end();
      });
      await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
      port = (http.address() as { port: number }).port;
      base = `http://localhost:${port}/images`;
      driver = new FakeDriver();
      h = await createHarness(kind, { imageMirrorHosts: 'localhost' }, driver);
      admin = await h.adminToken();
      user = (await h.user('imguser')).token;
    });
    after(async () => {
      await h.close();
      await new Promise((r) => http.close(r));
      rmSync(dir, { recursive: true, force: true });
    });

    type Listed = { slug: string; status: string; error: string | null; progress: number | null };
    const register = (body: Record<string, unknown>, token = admin) => h.request({ method: 'POST', url: '/api/admin/images', token, body });
    const download = (slug: string) => h.request({ method: 'POST', url: `/api/admin/images/${slug}/download`, token: admin });
    const catalog = async (token = user) => (await h.request({ method: 'GET', url: '/api/images', token })).json() as Listed[];
    const bySlug = async (token: string) => Object.fromEntries((await catalog(token)).map((i) => [i.slug, i])) as Record<string, Listed>;
    const common = { name: 'Test cloud', distribution: 'Testix', version: '1', os_type: 'testix', min_disk: 1 };

    test('the catalog lists the built-in tiny image and the pre-listed cloud images', async () => {
      const slugs = (await catalog()).map((i) => i.slug);
      assert.ok(slugs.includes('tiny') && slugs.includes('ubuntu-24-04') && slugs.includes('debian-12'));
      assert.equal((await catalog()).find((i) => i.slug === 'ubuntu-24-04')!.status, 'pending');
    });

    test('only admins register images; a user gets 403', async () => {
      assert.equal((await register({ ...common, slug: 'nope', url: `${base}/cloud.qcow2`, sha256: 'a'.repeat(64) }, user)).statusCode, 403);
      const noSum = await register({ ...common, slug: 'nosum', url: `${base}/cloud.qcow2` });
      assert.equal(noSum.statusCode, 400);
    });

    test('a download verified against a SHA256SUMS file becomes available and usable for a VM', async () => {
      assert.equal((await register({ ...common, slug: 'testix-1', url: `${base}/cloud.qcow2`, checksums_url: `${base}/SHA256SUMS` })).statusCode, 201);
      assert.equal((await download('testix-1')).statusCode, 202);
      await h.services.images.idle();
      const img = (await catalog(admin)).find((i) => i.slug === 'testix-1')!;
      assert.equal(img.status, 'available', img.error ?? '');
      assert.equal(img.progress, 1);
      assert.ok(existsSync(path.join(h.config.dataDir, 'images', 'testix-1.img')));
      const vm = await h.request({ method: 'POST', url: '/api/vms', token: user, body: { name: 'cloudy', os_type: 'testix', size: 's-1vcpu-512mb' } });
      assert.equal(vm.statusCode, 201, vm.body);
      await h.services.ops.idle();
      const spec = driver.instances.get(`vm-${vm.json().id}`)!.spec;
      assert.deepEqual(spec.boot, { kind: 'disk', path: path.join(h.config.dataDir, 'images', 'testix-1.img'), format: 'qcow2' });
    });

    test('a checksum mismatch and a missing file end in error, keep no file, and only admins see why', async () => {
      await register({ ...common, slug: 'bad-sum', url: `${base}/cloud.qcow2`, sha256: 'b'.repeat(64) });
      await register({ ...common, slug: 'gone', url: `${base}/missing.qcow2`, sha256: 'c'.repeat(64) });
      for (const slug of ['bad-sum', 'gone']) assert.equal((await download(slug)).statusCode, 202);
      await h.services.images.idle();
      const asAdmin = await bySlug(admin);
      assert.match(asAdmin['bad-sum']!.error!, /sha256 mismatch/);
      assert.match(asAdmin['gone']!.error!, /404/);
      const asUser = await bySlug(user);
      for (const slug of ['bad-sum', 'gone']) {
        assert.equal(asUser[slug]!.status, 'error');
        assert.equal(asUser[slug]!.error, null, 'a plain user must not see why a download failed');
        assert.ok(!existsSync(path.join(h.config.dataDir, 'images', `${slug}.img`)));
      }
    });

    test('a failed download echoes nothing it received: no body, no hash', async () => {
      // A mirror host is trusted to be reached, but what it answered must still not leak.
      await register({ ...common, slug: 'echo', url: `${base}/secret`, sha256: 'e'.repeat(64) });
      await download('echo');
      await h.services.images.idle();
      const img = (await bySlug(admin))['echo']!;
      assert.equal(img.status, 'error');
      assert.match(img.error!, /sha256 mismatch/);
      const raw = (await h.request({ method: 'GET', url: '/api/images', token: admin })).body;
      for (const leak of [secretSha256, createHash('sha512').update(secret).digest('hex'), 'AKIA-SECRET']) {
        assert.ok(!raw.includes(leak), `GET /api/images leaks ${leak}`);
      }
      assert.ok(!existsSync(path.join(h.config.dataDir, 'images', 'echo.img')));
    });

    test('a loopback URL that is not a listed mirror is refused before any request is made', async () => {
      const hitsBefore = secretHits;
      for (const [slug, url] of [
        ['ssrf-ip', `http://127.0.0.1:${port}/images/secret`],
        ['ssrf-hex', `http://0x7f000001:${port}/images/secret`],
        ['ssrf-mapped', `http://[::ffff:127.0.0.1]:${port}/images/secret`],
      ] as const) {
        assert.equal((await register({ ...common, slug, url, sha256: 'f'.repeat(64) })).statusCode, 201);
        assert.equal((await download(slug)).statusCode, 202);
      }
      await h.services.images.idle();
      assert.equal(secretHits, hitsBefore, 'the refused URLs were fetched');
      const asAdmin = await bySlug(admin);
      const asUser = await bySlug(user);
      for (const slug of ['ssrf-ip', 'ssrf-hex', 'ssrf-mapped']) {
        assert.equal(asAdmin[slug]!.status, 'error');
        assert.match(asAdmin[slug]!.error!, /refused: .*loopback/);
        assert.equal(asUser[slug]!.error, null);
      }
    });

    test('re-registering a refused URL with the hash of what it serves does not make it available', async () => {
      const hitsBefore = secretHits;
      assert.equal((await h.request({ method: 'DELETE', url: '/api/admin/images/ssrf-ip', token: admin })).statusCode, 204);
      const again = await register({ ...common, slug: 'ssrf-ip', url: `http://127.0.0.1:${port}/images/secret`, sha256: secretSha256 });
      assert.equal(again.statusCode, 201);
      assert.equal(again.json().status, 'pending');
      await download('ssrf-ip');
      await h.services.images.idle();
      const img = (await bySlug(admin))['ssrf-ip']!;
      assert.equal(img.status, 'error');
      assert.match(img.error!, /refused/);
      assert.equal(secretHits, hitsBefore);
      assert.ok(!existsSync(path.join(h.config.dataDir, 'images', 'ssrf-ip.img')));
      const vm = await h.request({ method: 'POST', url: '/api/vms', token: user, body: { name: 'leaky', image: 'ssrf-ip', size: 's-1vcpu-512mb' } });
      assert.equal(vm.statusCode, 409, vm.body);
    });

    test('SHA256SUMS and SHA512SUMS lines are both understood', () => {
      assert.deepEqual(checksumFromSums(`${'a'.repeat(64)}  x.img\n`, 'x.img'), { algo: 'sha256', hex: 'a'.repeat(64) });
      assert.deepEqual(checksumFromSums(`${'b'.repeat(128)} *dir/y.qcow2\n`, 'y.qcow2'), { algo: 'sha512', hex: 'b'.repeat(128) });
      assert.equal(checksumFromSums('garbage', 'x.img'), undefined);
    });
  });
}
