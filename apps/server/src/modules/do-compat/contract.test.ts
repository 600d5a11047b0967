import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { createHarness, type Harness } from '../../test-support/harness.js';
import { quickEd25519 } from '../../test-support/ssh-keys.js';

/**
 * The fields godo (github.com/digitalocean/godo) decodes, with the JSON type its Go field needs:
 * a Go int refuses 1.5 or "1", a string refuses null, a bool refuses 0. Optional pointer fields
 * for things we do not have (Size.gpu_info/disk_info, Account.team) are left out, as DO does.
 */
type JsonType = 'string' | 'int' | 'number' | 'bool' | 'string[]' | 'time';
const GODO: Record<string, Record<string, JsonType>> = {
  // keys.go Key
  Key: { id: 'int', name: 'string', fingerprint: 'string', public_key: 'string' },
  // sizes.go Size
  Size: { slug: 'string', memory: 'int', vcpus: 'int', disk: 'int', price_monthly: 'number', price_hourly: 'number', regions: 'string[]', available: 'bool', transfer: 'number', description: 'string' },
  // images.go Image
  Image: {
    id: 'int', name: 'string', type: 'string', distribution: 'string', slug: 'string', public: 'bool', regions: 'string[]', min_disk_size: 'int', size_gigabytes: 'number',
    created_at: 'string', description: 'string', tags: 'string[]', status: 'string', error_message: 'string',
  },
  // regions.go Region
  Region: { slug: 'string', name: 'string', sizes: 'string[]', available: 'bool', features: 'string[]' },
  // account.go Account
  Account: {
    droplet_limit: 'int', floating_ip_limit: 'int', reserved_ip_limit: 'int', volume_limit: 'int', email: 'string', name: 'string', uuid: 'string',
    email_verified: 'bool', status: 'string', status_message: 'string',
  },
  // balance.go Balance (generated_at is a time.Time: RFC 3339)
  Balance: { month_to_date_balance: 'string', account_balance: 'string', month_to_date_usage: 'string', generated_at: 'time' },
};

function assertShape(kind: keyof typeof GODO, value: Record<string, unknown>) {
  for (const [field, type] of Object.entries(GODO[kind]!)) {
    assert.ok(field in value, `${kind}.${field} is missing: ${JSON.stringify(value)}`);
    const v = value[field];
    const ok = {
      string: () => typeof v === 'string',
      int: () => Number.isInteger(v),
      number: () => typeof v === 'number' && Number.isFinite(v),
      bool: () => typeof v === 'boolean',
      'string[]': () => Array.isArray(v) && v.every((x) => typeof x === 'string'),
      time: () => typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(v),
    }[type]();
    assert.ok(ok, `${kind}.${field} must be ${type}, got ${JSON.stringify(v)}`);
  }
}

const PUBLIC_URL = 'https://cloud.example.test';

for (const kind of testDatabaseKinds()) {
  describe(`DO /v2 contract: what godo decodes, and paging (${kind})`, () => {
    let h: Harness;
    let user: { id: number; token: string };
    before(async () => {
      h = await createHarness(kind, { maxKeysPerUser: 300, publicUrl: PUBLIC_URL });
      user = await h.user('godo');
    });
    after(() => h.close());
    const get = (url: string) => h.request({ method: 'GET', url, token: user.token });

    test('Key, Size, Image, Region, Account and Balance carry every godo field with its JSON type', async () => {
      const created = await h.request({ method: 'POST', url: '/v2/account/keys', token: user.token, body: { name: 'k', public_key: quickEd25519('c') } });
      assert.equal(created.statusCode, 201, created.body);
      assertShape('Key', created.json().ssh_key);
      for (const k of (await get('/v2/account/keys')).json().ssh_keys) assertShape('Key', k);
      assertShape('Key', (await get(`/v2/account/keys/${created.json().ssh_key.id}`)).json().ssh_key);

      const sizes = (await get('/v2/sizes')).json().sizes;
      assert.ok(sizes.length > 0);
      for (const s of sizes) assertShape('Size', s);

      const images = (await get('/v2/images?type=distribution')).json().images;
      assert.ok(images.length > 0);
      for (const i of images) assertShape('Image', i);
      assertShape('Image', (await get(`/v2/images/${images[0].id}`)).json().image);

      const regions = (await get('/v2/regions')).json().regions;
      assert.ok(regions.length > 0);
      for (const r of regions) assertShape('Region', r);

      assertShape('Account', (await get('/v2/account')).json().account);
      assertShape('Balance', (await get('/v2/customers/my/balance')).json());

      // Lists carry godo's links and meta.total (an int).
      for (const url of ['/v2/account/keys', '/v2/sizes', '/v2/images', '/v2/regions']) {
        const body = (await get(url)).json();
        assert.ok(Number.isInteger(body.meta.total), url);
        assert.equal(typeof body.links, 'object', url);
      }
    });

    test('paging over 250 keys: per_page=200 gives 200 then 50, with absolute first/prev/next/last links and meta.total', async () => {
      const before = (await get('/v2/account/keys')).json().meta.total as number;
      for (let i = before; i < 250; i++) {
        const res = await h.request({ method: 'POST', url: '/v2/account/keys', token: user.token, body: { name: `key-${i}`, public_key: quickEd25519() } });
        assert.equal(res.statusCode, 201, res.body);
      }
      const p1 = (await get('/v2/account/keys?per_page=200')).json();
      assert.equal(p1.ssh_keys.length, 200);
      assert.equal(p1.meta.total, 250);
      assert.deepEqual(p1.links, { pages: { next: `${PUBLIC_URL}/v2/account/keys?per_page=200&page=2`, last: `${PUBLIC_URL}/v2/account/keys?per_page=200&page=2` } });

      const p2res = await get('/v2/account/keys?per_page=200&page=2');
      const p2 = p2res.json();
      assert.equal(p2.ssh_keys.length, 50);
      assert.equal(p2.meta.total, 250);
      assert.deepEqual(p2.links, { pages: { first: `${PUBLIC_URL}/v2/account/keys?per_page=200&page=1`, prev: `${PUBLIC_URL}/v2/account/keys?per_page=200&page=1` } });
      // The two pages are the 250 keys, each once, in order.
      const ids = [...p1.ssh_keys, ...p2.ssh_keys].map((k: { id: number }) => k.id);
      assert.equal(new Set(ids).size, 250);
      assert.deepEqual(ids, [...ids].sort((a, b) => a - b));

      // The default page size is 20: 13 pages, the middle ones linked both ways.
      const p5 = (await get('/v2/account/keys?page=5')).json();
      assert.equal(p5.ssh_keys.length, 20);
      for (const [rel, page] of [['first', 1], ['prev', 4], ['next', 6], ['last', 13]] as const) {
        const url = new URL(p5.links.pages[rel]);
        assert.equal(url.origin, PUBLIC_URL);
        assert.equal(url.searchParams.get('page'), String(page), rel);
        assert.equal(url.searchParams.get('per_page'), '20', rel);
      }
    });

    test('per_page=201 (or 0, or page=0) is a 422 in DO error shape', async () => {
      for (const q of ['per_page=201', 'per_page=0', 'page=0', 'per_page=abc']) {
        const res = await get(`/v2/account/keys?${q}`);
        assert.equal(res.statusCode, 422, `${q}: ${res.body}`);
        const body = res.json();
        assert.deepEqual(Object.keys(body).sort(), ['id', 'message', 'request_id']);
        assert.equal(body.id, 'unprocessable_entity');
        assert.match(body.message, /per_page|page/);
      }
    });
  });
}
