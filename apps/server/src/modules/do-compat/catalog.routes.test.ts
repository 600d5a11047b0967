import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { createHarness, type Harness } from '../../test-support/harness.js';
import { SIZES } from '../sizes/sizes.js';

for (const kind of testDatabaseKinds()) {
  describe(`DO /v2 sizes, images and regions (${kind})`, () => {
    let h: Harness;
    let user: { id: number; token: string };
    let admin: string;
    before(async () => {
      h = await createHarness(kind);
      user = await h.user('dora');
      admin = await h.adminToken();
    });
    after(() => h.close());

    const get = (url: string, token = user.token) => h.request({ method: 'GET', url, token });

    test('GET /v2/sizes: every size, DO fields, monthly price = hourly × 730, regions = the hosts taking VMs', async () => {
      const res = await get('/v2/sizes');
      assert.equal(res.statusCode, 200, res.body);
      const { sizes, meta } = res.json();
      assert.equal(meta.total, SIZES.length);
      assert.deepEqual(sizes.map((s: { slug: string }) => s.slug), SIZES.map((s) => s.slug));
      const small = sizes.find((s: { slug: string }) => s.slug === 's-1vcpu-1gb');
      const ours = SIZES.find((s) => s.slug === 's-1vcpu-1gb')!;
      assert.deepEqual(small, {
        slug: 's-1vcpu-1gb', memory: 1024, vcpus: 1, disk: 10, transfer: 0, price_hourly: ours.price_hourly, price_monthly: ours.price_hourly * 730,
        regions: ['local'], available: true, description: ours.description,
      });
    });

    test('GET /v2/regions: one region per compute host; a draining or disabled host is not available', async () => {
      let regions = (await get('/v2/regions')).json().regions;
      assert.deepEqual(regions, [{ slug: 'local', name: 'local', sizes: SIZES.map((s) => s.slug), available: true, features: [] }]);
      const hosts = (await h.request({ method: 'GET', url: '/api/admin/hosts', token: admin })).json();
      const local = hosts.find((x: { name: string }) => x.name === 'local');
      const drain = await h.request({ method: 'PATCH', url: `/api/admin/hosts/${local.id}`, token: admin, body: { draining: true } });
      assert.equal(drain.statusCode, 200, drain.body);
      regions = (await get('/v2/regions')).json().regions;
      assert.equal(regions[0].available, false);
      // No host takes VMs: no size can be had anywhere.
      const sizes = (await get('/v2/sizes')).json().sizes;
      assert.ok(sizes.every((s: { regions: string[]; available: boolean }) => s.regions.length === 0 && !s.available));
      await h.request({ method: 'PATCH', url: `/api/admin/hosts/${local.id}`, token: admin, body: { draining: false } });
      assert.equal((await get('/v2/regions')).json().regions[0].available, true);
    });

    test('GET /v2/images?type=distribution: the catalog with integer ids; application and private lists are empty', async () => {
      const res = await get('/v2/images?type=distribution&per_page=200');
      assert.equal(res.statusCode, 200, res.body);
      const { images, meta } = res.json();
      const catalog = (await get('/api/images')).json() as { slug: string; status: string }[];
      assert.equal(meta.total, catalog.length);
      assert.deepEqual(images.map((i: { slug: string }) => i.slug).sort(), catalog.map((i) => i.slug).sort());
      assert.ok(images.every((i: { id: unknown }) => Number.isInteger(i.id) && (i.id as number) > 0));
      assert.equal(new Set(images.map((i: { id: number }) => i.id)).size, images.length, 'ids are unique');
      const tiny = images.find((i: { slug: string }) => i.slug === 'tiny');
      assert.equal(tiny.status, 'available');
      assert.equal(tiny.type, 'base');
      assert.equal(tiny.public, true);
      assert.deepEqual(tiny.regions, ['local']);
      assert.match(tiny.created_at, /Z$/);
      // Listed but never downloaded: DO's NEW, usable nowhere yet.
      const ubuntu = images.find((i: { slug: string }) => i.slug === 'ubuntu-24-04');
      assert.equal(ubuntu.status, 'NEW');
      assert.deepEqual(ubuntu.regions, []);
      assert.equal(ubuntu.size_gigabytes, 0);

      assert.deepEqual((await get('/v2/images')).json().meta, { total: catalog.length });
      for (const q of ['type=application', 'private=true', 'tag_name=web']) {
        const r = await get(`/v2/images?${q}`);
        assert.equal(r.statusCode, 200, r.body);
        assert.deepEqual(r.json().images, [], q);
        assert.equal(r.json().meta.total, 0);
      }
    });

    test('GET /v2/images/{id|slug}: by integer id, by DO slug (ubuntu-24-04-x64), by our slug; unknown → 404 in DO shape', async () => {
      const byOurs = await get('/v2/images/ubuntu-24-04');
      assert.equal(byOurs.statusCode, 200, byOurs.body);
      const image = byOurs.json().image;
      assert.deepEqual((await get('/v2/images/ubuntu-24-04-x64')).json().image, image);
      assert.deepEqual((await get(`/v2/images/${image.id}`)).json().image, image);
      assert.equal((await get('/v2/images/debian-12-x64')).json().image.slug, 'debian-12');
      for (const ref of ['no-such-image', 'no-such-x64', '999999']) {
        const res = await get(`/v2/images/${ref}`);
        assert.equal(res.statusCode, 404, ref);
        assert.equal(res.json().id, 'not_found');
        assert.equal(typeof res.json().request_id, 'string');
      }
    });

    test('a failed image is retired; only admins see why (it names their network)', async () => {
      await h.db.handle.db.updateTable('images').set({ status: 'error', error: 'fetch http://10.1.2.3/mirror failed' }).where('slug', '=', 'ubuntu-24-04').execute();
      const mine = (await get('/v2/images/ubuntu-24-04')).json().image;
      assert.equal(mine.status, 'retired');
      assert.doesNotMatch(mine.error_message, /10\.1\.2\.3/);
      assert.ok(mine.error_message.length > 0);
      assert.match((await get('/v2/images/ubuntu-24-04', admin)).json().image.error_message, /10\.1\.2\.3/);
    });
  });
}
