import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FakeDriver } from '../../test-support/fake-driver.js';
import { createHarness, type Harness } from '../../test-support/harness.js';
import { checksumFromSums } from './image-download.js';

/** Cloud images by URL, downloaded from a local HTTP server on loopback. */
describe('image catalog and verified downloads', () => {
  let h: Harness;
  let driver: FakeDriver;
  let http: Server;
  let base: string;
  let dir: string;
  let image: Buffer;
  let admin: string;
  let user: string;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'twarga-img-'));
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', path.join(dir, 'cloud.qcow2'), '64M']);
    image = readFileSync(path.join(dir, 'cloud.qcow2'));
    const sha256 = createHash('sha256').update(image).digest('hex');
    http = createServer((req, res) => {
      if (req.url === '/images/cloud.qcow2') return res.writeHead(200, { 'content-length': image.length }).end(image);
      if (req.url === '/images/SHA256SUMS') return res.end(`${'0'.repeat(64)}  other.img\n${sha256} *cloud.qcow2\n`);
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(http.address() as { port: number }).port}/images`;
    driver = new FakeDriver();
    h = await createHarness('sqlite', {}, driver);
    admin = await h.adminToken();
    user = (await h.user('imguser')).token;
  });
  after(async () => {
    await h.close();
    await new Promise((r) => http.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  const register = (body: Record<string, unknown>, token = admin) => h.request({ method: 'POST', url: '/api/admin/images', token, body });
  const download = (slug: string) => h.request({ method: 'POST', url: `/api/admin/images/${slug}/download`, token: admin });
  const catalog = async () => (await h.request({ method: 'GET', url: '/api/images', token: user })).json() as { slug: string; status: string; error: string | null; progress: number | null }[];
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
    const img = (await catalog()).find((i) => i.slug === 'testix-1')!;
    assert.equal(img.status, 'available', img.error ?? '');
    assert.equal(img.progress, 1);
    assert.ok(existsSync(path.join(h.config.dataDir, 'images', 'testix-1.img')));
    const vm = await h.request({ method: 'POST', url: '/api/vms', token: user, body: { name: 'cloudy', os_type: 'testix', size: 's-1vcpu-512mb' } });
    assert.equal(vm.statusCode, 201, vm.body);
    await h.services.ops.idle();
    const spec = driver.instances.get(`vm-${vm.json().id}`)!.spec;
    assert.deepEqual(spec.boot, { kind: 'disk', path: path.join(h.config.dataDir, 'images', 'testix-1.img'), format: 'qcow2' });
  });

  test('a checksum mismatch and a missing file end in error and keep no file', async () => {
    await register({ ...common, slug: 'bad-sum', url: `${base}/cloud.qcow2`, sha256: 'b'.repeat(64) });
    await register({ ...common, slug: 'gone', url: `${base}/missing.qcow2`, sha256: 'c'.repeat(64) });
    for (const slug of ['bad-sum', 'gone']) assert.equal((await download(slug)).statusCode, 202);
    await h.services.images.idle();
    const byslug = Object.fromEntries((await catalog()).map((i) => [i.slug, i]));
    assert.match(byslug['bad-sum']!.error!, /sha256 mismatch/);
    assert.match(byslug['gone']!.error!, /404/);
    for (const slug of ['bad-sum', 'gone']) {
      assert.equal(byslug[slug]!.status, 'error');
      assert.ok(!existsSync(path.join(h.config.dataDir, 'images', `${slug}.img`)));
    }
  });

  test('SHA256SUMS and SHA512SUMS lines are both understood', () => {
    assert.deepEqual(checksumFromSums(`${'a'.repeat(64)}  x.img\n`, 'x.img'), { algo: 'sha256', hex: 'a'.repeat(64) });
    assert.deepEqual(checksumFromSums(`${'b'.repeat(128)} *dir/y.qcow2\n`, 'y.qcow2'), { algo: 'sha512', hex: 'b'.repeat(128) });
    assert.equal(checksumFromSums('garbage', 'x.img'), undefined);
  });
});
