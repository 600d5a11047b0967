import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { migrate } from '../../db/migrator.js';
import { createTestDatabase, testDatabaseKinds } from '../../test-support/databases.js';
import { createHarness, type Harness } from '../../test-support/harness.js';

/**
 * The Debian 12 image built on this host, with a fake images/debian/build.sh: it speaks the real
 * one's interface (--check exit status, PROGRESS lines, <cache>/debian-12/ with a qcow2 disk), is
 * steered by files next to it (mode: ok | fail; gate: wait for `release`), and logs its calls.
 */
const FAKE_BUILD = `#!/bin/bash
set -eu
here=$(dirname "$0")
echo "$*" >> "$here/calls"
if [ "$1" = --check ]; then
  [ -f "$2/debian-12/build.json" ] && [ -f "$2/debian-12/disk.qcow2" ] && exit 0
  exit 1
fi
cache=$1
echo "PROGRESS 10 bootstrapping Debian packages"
echo "some mmdebstrap log line"
if [ "$(cat "$here/mode")" = fail ]; then
  echo "mmdebstrap: E: cannot reach deb.debian.org" >&2
  exit 3
fi
if [ -f "$here/gate" ]; then
  for _ in $(seq 300); do [ -f "$here/release" ] && break; sleep 0.1; done
fi
echo "PROGRESS 60 making the disk"
rm -rf "$cache/debian-12.new" && mkdir -p "$cache/debian-12.new"
qemu-img create -q -f qcow2 "$cache/debian-12.new/disk.qcow2" 64M
echo '{"image":"debian-12","ssh_user":"debian"}' > "$cache/debian-12.new/build.json"
rm -rf "$cache/debian-12" && mv "$cache/debian-12.new" "$cache/debian-12"
echo "PROGRESS 100 done"
`;

type Listed = { slug: string; kind: string; status: string; error: string | null; progress: number | null; ssh_user: string };

for (const kind of testDatabaseKinds()) {
  describe(`Debian 12 built on this host (${kind})`, () => {
    let dir: string;
    let script: string;
    let cache: string;
    const servers: Harness[] = [];
    let h: Harness;
    let admin: string;
    let user: { id: number; token: string };

    const mode = (m: 'ok' | 'fail', gate = false) => {
      writeFileSync(path.join(dir, 'mode'), m);
      rmSync(path.join(dir, 'release'), { force: true });
      if (gate) writeFileSync(path.join(dir, 'gate'), '');
      else rmSync(path.join(dir, 'gate'), { force: true });
    };
    const calls = () => (existsSync(path.join(dir, 'calls')) ? readFileSync(path.join(dir, 'calls'), 'utf8').trim().split('\n') : []);
    const server = async (overrides: Record<string, unknown>) => {
      const s = await createHarness(kind, { imageCacheDir: cache, ...overrides }, undefined, { imageScripts: { build: script, box: path.join(dir, 'no-box.sh') } });
      servers.push(s);
      return s;
    };
    const catalog = async (s: Harness, token: string) => Object.fromEntries(((await s.request({ method: 'GET', url: '/api/images', token })).json() as Listed[]).map((i) => [i.slug, i])) as Record<string, Listed>;
    const build = (s: Harness, token: string, slug = 'debian-12') => s.request({ method: 'POST', url: `/api/admin/images/${slug}/build`, token });

    before(async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'twarga-build-'));
      script = path.join(dir, 'build.sh');
      writeFileSync(script, FAKE_BUILD);
      chmodSync(script, 0o755);
      cache = path.join(dir, 'cache');
      mode('ok');
      h = await server({ imageBuild: 'off' });
      admin = await h.adminToken();
      user = await h.user('deb');
      await h.request({ method: 'POST', url: `/api/admin/users/${user.id}/credits`, token: admin, body: { amount: 100_000, reason: 'test' } });
    });
    after(async () => {
      for (const s of servers) await s.close();
      rmSync(dir, { recursive: true, force: true });
    });

    test('builds off and no cache: debian-12 is a built image, pending; only admins see why; nothing is built', async () => {
      h.services.imageBuilder.start();
      await h.services.images.idle();
      const img = (await catalog(h, admin))['debian-12']!;
      assert.equal(img.kind, 'built');
      assert.equal(img.status, 'pending');
      assert.equal(img.ssh_user, 'debian');
      assert.match(img.error!, /TWARGA_IMAGE_BUILD=off/);
      assert.equal((await catalog(h, user.token))['debian-12']!.error, null);
      assert.deepEqual(calls(), [], 'off: not even the check runs');
      // The official image is still listed, under its own slug, for admins with internet access.
      const official = (await catalog(h, admin))['debian-12-genericcloud']!;
      assert.equal(official.kind, 'url');
      assert.equal(official.ssh_user, 'debian');
      const vm = await h.request({ method: 'POST', url: '/api/vms', token: user.token, body: { name: 'early', os_type: 'debian', size: 's-1vcpu-512mb' } });
      assert.equal(vm.statusCode, 400, vm.body);
    });

    test('a failing build ends in error: admins see why, users do not; only admins may build', async () => {
      assert.equal((await build(h, user.token)).statusCode, 403);
      mode('fail');
      const res = await build(h, admin);
      assert.equal(res.statusCode, 202, res.body);
      assert.equal(res.json().status, 'building');
      await h.services.images.idle();
      const img = (await catalog(h, admin))['debian-12']!;
      assert.equal(img.status, 'error');
      assert.match(img.error!, /cannot reach deb\.debian\.org/);
      const seen = (await catalog(h, user.token))['debian-12']!;
      assert.equal(seen.status, 'error');
      assert.equal(seen.error, null, 'a plain user must not see why a build failed');
      assert.ok(!existsSync(path.join(h.config.dataDir, 'images', 'debian-12.img')));
    });

    test('Retry: 202, 409 while building with progress from PROGRESS lines, then available and imported by hard link', async () => {
      mode('ok', true);
      assert.equal((await build(h, admin)).statusCode, 202);
      assert.equal((await build(h, admin)).statusCode, 409, 'a second build while one runs');
      let img: Listed | undefined;
      for (let i = 0; i < 100; i++) {
        img = (await catalog(h, user.token))['debian-12'];
        if (img?.progress === 0.1) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(img!.status, 'building');
      assert.equal(img!.progress, 0.1);
      assert.equal((await h.request({ method: 'DELETE', url: '/api/admin/images/debian-12', token: admin })).statusCode, 409, 'no delete while building');
      writeFileSync(path.join(dir, 'release'), '');
      await h.services.images.idle();
      img = (await catalog(h, admin))['debian-12']!;
      assert.equal(img.status, 'available', img.error ?? '');
      assert.equal(img.progress, 1);
      assert.equal(img.error, null);
      const imported = path.join(h.config.dataDir, 'images', 'debian-12.img');
      assert.equal(statSync(imported).ino, statSync(path.join(cache, 'debian-12', 'disk.qcow2')).ino, 'a hard link to the cache, not a copy');
      assert.equal((await build(h, admin)).statusCode, 409, 'an available image is not rebuilt');
      assert.equal((await build(h, admin, 'tiny')).statusCode, 409);
      assert.equal((await build(h, admin, 'nosuch')).statusCode, 404);
    });

    test('debian and debian/bookworm64 resolve to the built debian-12 first; its VMs log in as debian', async () => {
      // The official image made available too: the built one is still preferred.
      await h.db.handle.db.updateTable('images').set({ status: 'available', format: 'qcow2' }).where('slug', '=', 'debian-12-genericcloud').execute();
      for (const [name, os_type] of [['deb-a', 'debian'], ['deb-b', 'debian/bookworm64']] as const) {
        const res = await h.request({ method: 'POST', url: '/api/vms', token: user.token, body: { name, os_type, size: 's-1vcpu-512mb' } });
        assert.equal(res.statusCode, 201, res.body);
        assert.equal(res.json().image, 'debian-12');
        assert.equal(res.json().ssh_user, 'debian');
      }
      await h.services.ops.idle();
      const vms = (await h.request({ method: 'GET', url: '/api/vms', token: user.token })).json() as { id: number; name: string; ssh_command: string | null }[];
      assert.match(vms.find((v) => v.name === 'deb-a')!.ssh_command!, /^ssh -p \d+ debian@/);
      const tiny = await h.request({ method: 'POST', url: '/api/vms', token: user.token, body: { name: 'tiny-1', image: 'tiny', size: 's-1vcpu-512mb' } });
      assert.equal(tiny.json().ssh_user, 'root');
      await h.services.ops.idle();
      // A rebuild onto another image takes that image's user.
      const id = vms.find((v) => v.name === 'deb-b')!.id;
      const act = (body: Record<string, unknown>) => h.request({ method: 'POST', url: `/api/vms/${id}/action`, token: user.token, body });
      assert.equal((await act({ action: 'stop' })).statusCode, 202);
      await h.services.ops.idle();
      const rebuilt = await act({ action: 'rebuild', image: 'tiny', confirm: 'deb-b' });
      assert.equal(rebuilt.statusCode, 202, rebuilt.body);
      await h.services.ops.idle();
      const after = (await h.request({ method: 'GET', url: `/api/vms/${id}`, token: user.token })).json() as { image: string; ssh_user: string };
      assert.deepEqual([after.image, after.ssh_user], ['tiny', 'root']);
    });

    test('a registered image carries its SSH user (default root); a bad one is a 400', async () => {
      const common = { name: 'X', distribution: 'X', version: '1', os_type: 'x', min_disk: 1, url: 'https://example.com/x.qcow2', sha256: 'a'.repeat(64) };
      const reg = (body: Record<string, unknown>) => h.request({ method: 'POST', url: '/api/admin/images', token: admin, body: { ...common, ...body } });
      assert.equal((await reg({ slug: 'x-alma', ssh_user: 'almalinux' })).json().ssh_user, 'almalinux');
      assert.equal((await reg({ slug: 'x-plain' })).json().ssh_user, 'root');
      const bad = await reg({ slug: 'x-bad', ssh_user: 'root; rm -rf /' });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().code, 'validation_failed');
    });

    test('auto: a server with an empty cache builds in the background; a second server finds the cache and only imports it', async () => {
      const emptyCache = path.join(dir, 'cache2');
      mode('ok');
      const auto = await server({ imageBuild: 'auto', imageCacheDir: emptyCache });
      const before = calls().length;
      auto.services.imageBuilder.start();
      await auto.services.images.idle();
      assert.deepEqual(calls().slice(before), [`--check ${emptyCache}`, emptyCache]);
      const a = await auto.adminToken();
      assert.equal((await catalog(auto, a))['debian-12']!.status, 'available');

      const second = await server({ imageBuild: 'auto', imageCacheDir: emptyCache });
      const mark = calls().length;
      second.services.imageBuilder.start();
      await second.services.images.idle();
      assert.deepEqual(calls().slice(mark), [`--check ${emptyCache}`], 'a valid cache is imported, not rebuilt');
      assert.equal((await catalog(second, await second.adminToken()))['debian-12']!.status, 'available');
      assert.ok(existsSync(path.join(second.config.dataDir, 'images', 'debian-12.img')));
    });

    test('closing the server during a build does not wait for it, and the build is stopped', async () => {
      mode('ok', true);
      const s = await server({ imageBuild: 'auto', imageCacheDir: path.join(dir, 'cache3') });
      s.services.imageBuilder.start();
      for (let i = 0; i < 100 && !calls().includes(path.join(dir, 'cache3')); i++) await new Promise((r) => setTimeout(r, 50));
      const t0 = Date.now();
      await s.close();
      servers.splice(servers.indexOf(s), 1);
      assert.ok(Date.now() - t0 < 5000, `close took ${Date.now() - t0} ms`);
      writeFileSync(path.join(dir, 'release'), '');
      await new Promise((r) => setTimeout(r, 500));
      assert.ok(!existsSync(path.join(dir, 'cache3', 'debian-12')), 'the aborted build must not finish after close');
    });
  });

  describe(`migration 019 (${kind})`, () => {
    test('the old pre-listed debian-12 download moves to debian-12-genericcloud unless it was downloaded; SSH users are set', async () => {
      const db = await createTestDatabase(kind);
      try {
        const k = db.handle.db;
        const row = (slug: string, status: string, os_type: string) => ({
          slug, name: slug, distribution: 'D', version: '1', os_type, min_disk: 3, kind: 'url' as const, url: 'https://example.com/x', sha256: null, checksums_url: null,
          format: null, size_bytes: null, status: status as 'pending', progress: null, error: null, created_at: new Date().toISOString(),
        });
        const replay = async (rows: ReturnType<typeof row>[]) => {
          await k.deleteFrom('images').execute();
          await k.schema.alterTable('images').dropColumn('ssh_user').execute();
          await sql`DELETE FROM twarga_migrations WHERE name = '019_built_images'`.execute(k);
          await k.insertInto('images').values(rows as never).execute();
          await migrate(k as never, db.handle.kind);
          return Object.fromEntries((await k.selectFrom('images').selectAll().execute()).map((r) => [r.slug, r]));
        };
        let got = await replay([row('debian-12', 'pending', 'debian'), row('ubuntu-24-04', 'error', 'ubuntu'), row('mine', 'available', 'tiny')]);
        assert.deepEqual(Object.keys(got).sort(), ['debian-12-genericcloud', 'mine', 'ubuntu-24-04']);
        assert.equal(got['debian-12-genericcloud']!.ssh_user, 'debian');
        assert.equal(got['ubuntu-24-04']!.ssh_user, 'ubuntu');
        assert.equal(got['mine']!.ssh_user, 'root');
        got = await replay([row('debian-12', 'available', 'debian')]);
        assert.equal(got['debian-12']!.kind, 'url', 'a downloaded official image keeps its slug');
        assert.equal(got['debian-12']!.ssh_user, 'debian');
      } finally {
        await db.cleanup();
      }
    });
  });
}
