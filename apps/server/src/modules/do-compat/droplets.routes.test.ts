import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { FakeDriver } from '../../test-support/fake-driver.js';
import { createHarness, type Harness } from '../../test-support/harness.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test';

type JsonType = 'number' | 'string' | 'boolean' | 'array' | 'object' | 'null';
const jsonType = (v: unknown): JsonType => (v === null ? 'null' : Array.isArray(v) ? 'array' : (typeof v as JsonType));

/**
 * Every field godo decodes (github.com/digitalocean/godo: droplets.go Droplet, action.go Action,
 * images.go Image, sizes.go Size, regions.go Region) with the JSON type(s) it accepts there.
 * An integer field must be a whole number: godo decodes ids into Go ints.
 */
const GODO: Record<string, Record<string, JsonType[]>> = {
  Droplet: {
    id: ['number'], name: ['string'], memory: ['number'], vcpus: ['number'], disk: ['number'], region: ['object'], image: ['object'],
    size: ['object'], size_slug: ['string'], backup_ids: ['array'], next_backup_window: ['object', 'null'], snapshot_ids: ['array'],
    features: ['array'], locked: ['boolean'], status: ['string'], networks: ['object'], created_at: ['string'], kernel: ['object', 'null'],
    tags: ['array'], volume_ids: ['array'], vpc_uuid: ['string'],
  },
  Action: {
    id: ['number'], status: ['string'], type: ['string'], started_at: ['string'], completed_at: ['string', 'null'], resource_id: ['number'],
    resource_type: ['string'], region: ['object'], region_slug: ['string'],
  },
  Image: {
    id: ['number'], name: ['string'], type: ['string'], distribution: ['string'], slug: ['string'], public: ['boolean'], regions: ['array'],
    min_disk_size: ['number'], size_gigabytes: ['number'], created_at: ['string'], description: ['string'], tags: ['array'], status: ['string'], error_message: ['string'],
  },
  Size: {
    slug: ['string'], memory: ['number'], vcpus: ['number'], disk: ['number'], price_monthly: ['number'], price_hourly: ['number'], regions: ['array'],
    available: ['boolean'], transfer: ['number'], description: ['string'],
  },
  Region: { slug: ['string'], name: ['string'], sizes: ['array'], available: ['boolean'], features: ['array'] },
  NetworkV4: { ip_address: ['string'], netmask: ['string'], gateway: ['string'], type: ['string'] },
};
const INTEGERS = new Set(['id', 'memory', 'vcpus', 'disk', 'resource_id', 'min_disk_size']);
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

function assertShape(kind: keyof typeof GODO, value: Record<string, unknown>): void {
  for (const [field, types] of Object.entries(GODO[kind]!)) {
    assert.ok(field in value, `${kind}.${field} is missing`);
    assert.ok(types.includes(jsonType(value[field])), `${kind}.${field} is ${jsonType(value[field])}, godo wants ${types.join('|')}`);
    if (INTEGERS.has(field)) assert.ok(Number.isInteger(value[field]), `${kind}.${field} must be an integer`);
    if (field.endsWith('_at') && typeof value[field] === 'string') assert.match(value[field] as string, ISO, `${kind}.${field}`);
  }
}

function assertDroplet(d: Record<string, unknown>): void {
  assertShape('Droplet', d);
  assertShape('Image', d.image as Record<string, unknown>);
  assertShape('Size', d.size as Record<string, unknown>);
  assertShape('Region', d.region as Record<string, unknown>);
  const networks = d.networks as { v4: Record<string, unknown>[]; v6: unknown[] };
  assert.ok(Array.isArray(networks.v4) && Array.isArray(networks.v6));
  for (const n of networks.v4) assertShape('NetworkV4', n);
  assert.ok(['new', 'active', 'off', 'archive'].includes(d.status as string), `status ${d.status}`);
}

function assertDoError(res: LightMyRequestResponse, status: number, id: string): void {
  assert.equal(res.statusCode, status, res.body);
  const body = res.json();
  assert.equal(body.id, id, res.body);
  assert.equal(typeof body.message, 'string');
  assert.ok(body.message.length > 0);
  assert.equal(typeof body.request_id, 'string');
  assert.ok(body.request_id.length > 0);
}

/** /v2/droplets and /v2/actions over VmsService, with the fake driver. */
for (const kind of testDatabaseKinds()) {
  describe(`DO droplets API (${kind})`, () => {
    let h: Harness;
    let driver: FakeDriver;
    let alice: { id: number; token: string };
    let bob: { id: number; token: string };
    let keyId: number;
    let keyMd5: string;
    before(async () => {
      driver = new FakeDriver();
      h = await createHarness(kind, { maxVmsPerUser: 6, sshPortRange: '25300-25399', publicUrl: 'https://cloud.example.test' }, driver);
      alice = await h.user('alice');
      bob = await h.user('bob');
      const admin = await h.adminToken();
      for (const u of [alice, bob]) {
        const res = await h.request({ method: 'POST', url: `/api/admin/users/${u.id}/credits`, token: admin, body: { amount: 100_000, reason: 'test' } });
        assert.equal(res.statusCode, 200, res.body);
      }
      const key = await h.request({ method: 'POST', url: '/api/account/keys', token: alice.token, body: { name: 'k', public_key: KEY } });
      assert.equal(key.statusCode, 201, key.body);
      keyId = key.json().id;
      keyMd5 = key.json().fingerprint_md5;
    });
    after(() => h.close());
    beforeEach(async () => {
      driver.delayMs = 0;
      await settle();
      // Each test starts with none of alice's droplets.
      for (const vm of (await h.request({ method: 'GET', url: '/api/vms', token: alice.token })).json() as { id: number }[]) {
        await h.request({ method: 'POST', url: `/api/vms/${vm.id}/action`, token: alice.token, body: { action: 'destroy' } });
      }
      await settle();
    });

    const settle = () => h.services.ops.idle();
    const v2 = (method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown, token = alice.token) => h.request({ method, url: `/v2${url}`, token, body });
    const createDroplet = (body: Record<string, unknown>, token = alice.token) =>
      v2('POST', '/droplets', { region: 'nyc3', size: 's-1vcpu-256mb', image: 'tiny', ssh_keys: null, backups: false, ipv6: false, tags: null, ...body }, token);

    test('create answers 202 with a full droplet and its create action link; the action completes and the droplet reads back active', async () => {
      const res = await createDroplet({ name: 'web-1', ssh_keys: [keyMd5], user_data: '#cloud-config\n{}\n', tags: ['web', 'env:prod'], monitoring: true, with_droplet_agent: null, some_future_field: 1 });
      assert.equal(res.statusCode, 202, res.body);
      const { droplet, links } = res.json();
      assertDroplet(droplet);
      assert.equal(droplet.name, 'web-1');
      assert.equal(droplet.status, 'new');
      assert.deepEqual(droplet.tags, ['env:prod', 'web']);
      assert.equal(droplet.image.slug, 'tiny');
      assert.equal(droplet.size_slug, 's-1vcpu-256mb');
      assert.equal(droplet.size.slug, 's-1vcpu-256mb');
      assert.equal(droplet.region.slug, 'local', 'a DO region slug means anywhere: the default host');
      assert.equal(links.actions.length, 1);
      const link = links.actions[0];
      assert.equal(link.rel, 'create');
      assert.equal(link.href, `https://cloud.example.test/v2/actions/${link.id}`);

      const vm = (await h.request({ method: 'GET', url: `/api/vms/${droplet.id}`, token: alice.token })).json();
      assert.deepEqual(vm.tags, ['env:prod', 'web'], 'tags are stored on the VM');

      await settle();
      const action = await v2('GET', `/actions/${link.id}`);
      assert.equal(action.statusCode, 200, action.body);
      assertShape('Action', action.json().action);
      assert.deepEqual(
        { status: action.json().action.status, type: action.json().action.type, resource_id: action.json().action.resource_id, resource_type: action.json().action.resource_type, region_slug: action.json().action.region_slug },
        { status: 'completed', type: 'create', resource_id: droplet.id, resource_type: 'droplet', region_slug: 'local' },
      );
      assert.match(action.json().action.completed_at, ISO);

      const got = await v2('GET', `/droplets/${droplet.id}`);
      assert.equal(got.statusCode, 200, got.body);
      const d = got.json().droplet;
      assertDroplet(d);
      assert.equal(d.status, 'active');
      assert.equal(d.locked, false);
      const pub = d.networks.v4.find((n: { type: string }) => n.type === 'public');
      assert.equal(pub.ip_address, '127.0.0.1', 'the address users reach it at (sshHost)');
      assert.equal(typeof d.ssh_port, 'number');
      assert.ok(d.ssh_port >= 25300 && d.ssh_port <= 25399);
      const priv = d.networks.v4.find((n: { type: string }) => n.type === 'private');
      assert.equal(priv.ip_address, '10.0.2.15');
    });

    test('the key by id, the user data and a host name as region reach the VM; an unknown region is a 422', async () => {
      const res = await createDroplet({ name: 'pinned', region: 'local', ssh_keys: [keyId], user_data: 'hello' });
      assert.equal(res.statusCode, 202, res.body);
      const row = await h.db.handle.db.selectFrom('vms').selectAll().where('id', '=', res.json().droplet.id).executeTakeFirst();
      assert.deepEqual(JSON.parse(row!.ssh_keys), [KEY]);
      assert.equal(row!.user_data, 'hello');
      const local = (await h.services.hosts.list()).find((x) => x.name === 'local')!;
      assert.equal(row!.host_id, local.id);

      assertDoError(await createDroplet({ name: 'lost', region: 'mars' }), 422, 'unprocessable_entity');
      assertDoError(await createDroplet({ name: 'lost', image: 'windows-11-x64' }), 422, 'unprocessable_entity');
      assertDoError(await createDroplet({ name: 'lost', size: 'huge' }), 422, 'unprocessable_entity');
      assertDoError(await createDroplet({ name: 'Upper_Case' }), 422, 'unprocessable_entity');
      assertDoError(await createDroplet({ name: 'lost', backups: true }), 422, 'unprocessable_entity');
      assertDoError(await createDroplet({ name: 'lost', ssh_keys: [99999] }), 422, 'unprocessable_entity');
      assertDoError(await createDroplet({ name: 'lost', tags: ['bad tag'] }), 422, 'unprocessable_entity');
      assertDoError(await createDroplet({}), 422, 'unprocessable_entity');
      assertDoError(await createDroplet({ name: 'pinned' }), 422, 'unprocessable_entity');
      const names = ((await h.request({ method: 'GET', url: '/api/vms', token: alice.token })).json() as { name: string }[]).map((v) => v.name);
      assert.deepEqual(names, ['pinned'], 'no refused request created a VM');
    });

    test('images are found by DO slug and by integer id', async () => {
      const tiny = (await h.db.handle.db.selectFrom('images').selectAll().where('slug', '=', 'tiny').executeTakeFirst())!;
      const byId = await createDroplet({ name: 'by-id', image: Number(tiny.id) });
      assert.equal(byId.statusCode, 202, byId.body);
      assert.equal(byId.json().droplet.image.id, Number(tiny.id));
      const byString = await createDroplet({ name: 'by-id-string', image: String(tiny.id) });
      assert.equal(byString.statusCode, 202, byString.body);
      assert.equal(byString.json().droplet.image.slug, 'tiny');
    });

    test('names creates several droplets; a repeated or taken name, or a quota that fits only some, creates none', async () => {
      const many = await createDroplet({ names: ['m-1', 'm-2'], tags: ['batch'] });
      assert.equal(many.statusCode, 202, many.body);
      const { droplets, links } = many.json();
      assert.equal(droplets.length, 2);
      droplets.forEach(assertDroplet);
      assert.deepEqual(droplets.map((d: { name: string }) => d.name), ['m-1', 'm-2']);
      assert.equal(links.actions.length, 2);
      assert.ok(links.actions.every((a: { rel: string }) => a.rel === 'create'));

      assertDoError(await createDroplet({ names: ['n-1', 'n-1'] }), 422, 'unprocessable_entity');
      assertDoError(await createDroplet({ names: ['n-1', 'm-2'] }), 422, 'unprocessable_entity');
      // maxVmsPerUser 6: 2 exist, 5 more do not fit.
      assertDoError(await createDroplet({ names: ['q-1', 'q-2', 'q-3', 'q-4', 'q-5'] }), 422, 'unprocessable_entity');
      assertDoError(await createDroplet({ name: 'x', names: ['y'] }), 422, 'unprocessable_entity');
      const live = (await h.request({ method: 'GET', url: '/api/vms', token: alice.token })).json() as { name: string }[];
      assert.deepEqual(live.map((v) => v.name), ['m-1', 'm-2']);
    });

    test('another user\'s droplet is a 404 in DO\'s error shape, for every route', async () => {
      const res = await createDroplet({ name: 'secret' });
      const id = res.json().droplet.id;
      const actionId = res.json().links.actions[0].id;
      await settle();
      assertDoError(await v2('GET', `/droplets/${id}`, undefined, bob.token), 404, 'not_found');
      assertDoError(await v2('DELETE', `/droplets/${id}`, undefined, bob.token), 404, 'not_found');
      assertDoError(await v2('POST', `/droplets/${id}/actions`, { type: 'power_off' }, bob.token), 404, 'not_found');
      assertDoError(await v2('GET', `/droplets/${id}/actions`, undefined, bob.token), 404, 'not_found');
      assertDoError(await v2('GET', `/actions/${actionId}`, undefined, bob.token), 404, 'not_found');
      assertDoError(await v2('GET', `/droplets/${id}/actions/${actionId}`, undefined, bob.token), 404, 'not_found');
      assert.equal((await v2('GET', '/droplets', undefined, bob.token)).json().droplets.length, 0);
      assert.equal((await v2('GET', '/actions', undefined, bob.token)).json().actions.length, 0);
      assert.equal((await v2('GET', `/droplets/${id}`)).statusCode, 200, 'still there for its owner');
      assertDoError(await h.request({ method: 'GET', url: '/v2/droplets' }), 401, 'unauthorized');
      // An action of another droplet is not one of this droplet's.
      const bobs = (await createDroplet({ name: 'bobs' }, bob.token)).json();
      assertDoError(await v2('GET', `/droplets/${id}/actions/${bobs.links.actions[0].id}`), 404, 'not_found');
      await settle();
      await v2('DELETE', `/droplets/${bobs.droplet.id}`, undefined, bob.token);
    });

    test('a read-only token cannot create, act or delete (403 forbidden) but can list', async () => {
      const made = await h.request({ method: 'POST', url: '/api/account/tokens', token: alice.token, body: { name: 'ro', scope: 'read' } });
      assert.equal(made.statusCode, 201, made.body);
      const ro = made.json().token as string;
      assertDoError(await createDroplet({ name: 'nope' }, ro), 403, 'forbidden');
      const ok = await createDroplet({ name: 'mine' });
      const id = ok.json().droplet.id;
      await settle();
      assertDoError(await v2('POST', `/droplets/${id}/actions`, { type: 'power_off' }, ro), 403, 'forbidden');
      assertDoError(await v2('DELETE', `/droplets/${id}`, undefined, ro), 403, 'forbidden');
      const list = await v2('GET', '/droplets', undefined, ro);
      assert.equal(list.statusCode, 200);
      assert.deepEqual(list.json().droplets.map((d: { name: string }) => d.name), ['mine']);
    });

    test('power_off, power_on, shutdown, reboot and power_cycle map to VM actions; a locked droplet\'s second action is a 422', async () => {
      const id = (await createDroplet({ name: 'pow' })).json().droplet.id;
      await settle();
      driver.delayMs = 300;
      const off = await v2('POST', `/droplets/${id}/actions`, { type: 'power_off' });
      assert.equal(off.statusCode, 201, off.body);
      assertShape('Action', off.json().action);
      assert.equal(off.json().action.type, 'power_off');
      assert.equal(off.json().action.status, 'in-progress');
      assert.equal((await v2('GET', `/droplets/${id}`)).json().droplet.locked, true);
      assertDoError(await v2('POST', `/droplets/${id}/actions`, { type: 'power_on' }), 422, 'unprocessable_entity');
      await settle();
      driver.delayMs = 0;
      assert.ok(driver.calls.some((c) => c.startsWith('stop ')));
      assert.equal((await v2('GET', `/droplets/${id}`)).json().droplet.status, 'off');
      assert.equal((await v2('GET', `/actions/${off.json().action.id}`)).json().action.status, 'completed');
      const viaDroplet = await v2('GET', `/droplets/${id}/actions/${off.json().action.id}`);
      assert.equal(viaDroplet.statusCode, 200, viaDroplet.body);
      assert.equal(viaDroplet.json().action.status, 'completed');

      assertDoError(await v2('POST', `/droplets/${id}/actions`, { type: 'reboot' }), 422, 'unprocessable_entity');
      const on = await v2('POST', `/droplets/${id}/actions`, { type: 'power_on' });
      assert.equal(on.statusCode, 201, on.body);
      await settle();
      assert.equal((await v2('GET', `/droplets/${id}`)).json().droplet.status, 'active');
      for (const type of ['reboot', 'power_cycle', 'shutdown']) {
        const r = await v2('POST', `/droplets/${id}/actions`, { type });
        assert.equal(r.statusCode, 201, `${type}: ${r.body}`);
        assert.equal(r.json().action.type, type);
        await settle();
      }
      assert.equal((await v2('GET', `/droplets/${id}`)).json().droplet.status, 'off');
      assertDoError(await v2('POST', `/droplets/${id}/actions`, { type: 'enable_backups' }), 422, 'unprocessable_entity');

      const history = await v2('GET', `/droplets/${id}/actions`);
      assert.equal(history.statusCode, 200);
      const types = history.json().actions.map((a: { type: string }) => a.type);
      // Newest first, read back as asked: the row keeps whether a stop or reboot was forced.
      assert.deepEqual(types, ['shutdown', 'power_cycle', 'reboot', 'power_on', 'power_off', 'create']);
      const onApi = (await h.request({ method: 'GET', url: `/api/vms/${id}/actions`, token: alice.token })).json() as { type: string; forced: boolean }[];
      assert.deepEqual(onApi.map((a) => `${a.type}${a.forced ? ' (forced)' : ''}`), ['stop', 'reboot (forced)', 'reboot', 'start', 'stop (forced)', 'create']);
      history.json().actions.forEach((a: Record<string, unknown>) => assertShape('Action', a));
    });

    test('list by ?tag_name= and ?name=, delete by ?tag_name= (204) and by id (204); deleted droplets are 404', async () => {
      const tagged = [(await createDroplet({ name: 't-1', tags: ['drop'] })).json().droplet.id, (await createDroplet({ name: 't-2', tags: ['drop', 'keep'] })).json().droplet.id];
      const other = (await createDroplet({ name: 'other', tags: ['keep'] })).json().droplet.id;
      await settle();
      const names = async (url: string) => ((await v2('GET', url)).json().droplets as { name: string }[]).map((d) => d.name);
      assert.deepEqual(await names('/droplets?tag_name=drop'), ['t-1', 't-2']);
      assert.deepEqual(await names('/droplets?tag_name=keep'), ['t-2', 'other']);
      assert.deepEqual(await names('/droplets?name=other'), ['other']);
      assert.deepEqual(await names('/droplets?tag_name=none'), []);

      assertDoError(await v2('DELETE', '/droplets'), 422, 'unprocessable_entity');
      const del = await v2('DELETE', '/droplets?tag_name=drop');
      assert.equal(del.statusCode, 204, del.body);
      await settle();
      for (const id of tagged) assertDoError(await v2('GET', `/droplets/${id}`), 404, 'not_found');
      assert.deepEqual(await names('/droplets'), ['other']);

      const one = await v2('DELETE', `/droplets/${other}`);
      assert.equal(one.statusCode, 204, one.body);
      await settle();
      assertDoError(await v2('GET', `/droplets/${other}`), 404, 'not_found');
      assertDoError(await v2('DELETE', `/droplets/${other}`), 404, 'not_found');
      assert.deepEqual(await names('/droplets'), []);
      const destroys = ((await v2('GET', '/actions?per_page=200')).json().actions as { type: string; resource_id: number }[]).filter((a) => a.type === 'destroy').map((a) => a.resource_id);
      for (const id of [...tagged, other]) assert.ok(destroys.includes(id), `destroy of ${id} is in /v2/actions`);
    });

    test('pagination links are absolute and keep the filters; meta.total counts all', async () => {
      for (const name of ['p-1', 'p-2', 'p-3']) assert.equal((await createDroplet({ name, tags: ['pg'] })).statusCode, 202);
      const first = await v2('GET', '/droplets?tag_name=pg&per_page=2');
      assert.equal(first.statusCode, 200);
      assert.equal(first.json().meta.total, 3);
      assert.equal(first.json().droplets.length, 2);
      const next = new URL(first.json().links.pages.next);
      assert.equal(next.origin, 'https://cloud.example.test');
      assert.equal(next.pathname, '/v2/droplets');
      assert.equal(next.searchParams.get('tag_name'), 'pg');
      assert.equal(next.searchParams.get('page'), '2');
      assert.equal(first.json().links.pages.first, undefined);
      const second = await v2('GET', `${next.pathname.slice('/v2'.length)}${next.search}`);
      assert.deepEqual(second.json().droplets.map((d: { name: string }) => d.name), ['p-3']);
      assert.ok(second.json().links.pages.first && second.json().links.pages.prev);
      assert.equal(second.json().links.pages.next, undefined);
      assertDoError(await v2('GET', '/droplets?per_page=201'), 422, 'unprocessable_entity');
    });

    test('snapshot_ids lists the droplet\'s available snapshots', async () => {
      const id = (await createDroplet({ name: 'snappy' })).json().droplet.id;
      await settle();
      assert.deepEqual((await v2('GET', `/droplets/${id}`)).json().droplet.snapshot_ids, []);
      const snap = await h.request({ method: 'POST', url: `/api/vms/${id}/action`, token: alice.token, body: { action: 'snapshot', name: 'first' } });
      assert.equal(snap.statusCode, 202, snap.body);
      await settle();
      const list = (await h.request({ method: 'GET', url: `/api/vms/${id}/snapshots`, token: alice.token })).json();
      const ids = (list.snapshots as { id: number; status: string }[]).filter((x) => x.status === 'available').map((x) => x.id);
      assert.equal(ids.length, 1, JSON.stringify(list));
      assert.deepEqual((await v2('GET', `/droplets/${id}`)).json().droplet.snapshot_ids, ids);
      assert.deepEqual((await v2('GET', '/droplets?name=snappy')).json().droplets[0].snapshot_ids, ids);
    });

    test('every answer carries DO\'s RateLimit headers, Reset as a Unix time; one budget per user across every route', async () => {
      const res = await v2('GET', '/droplets');
      const limit = Number(res.headers['ratelimit-limit']);
      const remaining = Number(res.headers['ratelimit-remaining']);
      const reset = Number(res.headers['ratelimit-reset']);
      assert.equal(limit, h.config.doRateLimitPerHour);
      assert.ok(remaining >= 0 && remaining < limit);
      const now = Date.now() / 1000;
      assert.ok(reset > now - 5 && reset <= now + 3600 + 5, `reset ${reset}`);
      const again = await v2('GET', '/droplets');
      assert.equal(Number(again.headers['ratelimit-remaining']), remaining - 1);
      const error = await v2('GET', '/droplets/999999');
      assert.ok(error.headers['ratelimit-limit'], 'errors carry them too');
      assert.equal(Number(error.headers['ratelimit-remaining']), remaining - 2);
      const other = await v2('GET', '/actions');
      assert.equal(Number(other.headers['ratelimit-remaining']), remaining - 3, 'another route draws on the same budget');
    });

    test('a host name as region places the droplet on that host, where the scheduler would not; a full or draining host is refused', async () => {
      const admin = await h.adminToken();
      const hosts = (method: 'GET' | 'POST' | 'PATCH', url: string, body?: unknown) => h.request({ method, url, token: admin, body });
      const local = (await hosts('GET', '/api/admin/hosts')).json().find((x: { name: string }) => x.name === 'local');
      assert.equal((await hosts('PATCH', `/api/admin/hosts/${local.id}`, { ram_mb: 8192, vcpus: 8 })).statusCode, 200);
      const rack = await hosts('POST', '/api/admin/hosts', { name: 'rack-2', driver: 'libvirt', uri: 'qemu+ssh://root@rack-2/system', ram_mb: 1024, vcpus: 2 });
      assert.equal(rack.statusCode, 201, rack.body);
      const regions = (await v2('GET', '/regions')).json().regions.map((r: { slug: string }) => r.slug);
      assert.deepEqual(regions.sort(), ['local', 'rack-2']);

      const anywhere = await createDroplet({ name: 'anywhere', region: 'nyc3' });
      assert.equal(anywhere.json().droplet.region.slug, 'local', 'the scheduler picks the host with the most free RAM');
      const pinned = await createDroplet({ name: 'on-rack', region: 'rack-2' });
      assert.equal(pinned.statusCode, 202, pinned.body);
      assert.equal(pinned.json().droplet.region.slug, 'rack-2');
      assert.equal((await h.request({ method: 'GET', url: `/api/vms/${pinned.json().droplet.id}`, token: alice.token })).json().host_id, rack.json().id);

      const full = await createDroplet({ name: 'too-big', region: 'rack-2', size: 's-1vcpu-1gb' });
      assertDoError(full, 503, 'service_unavailable');
      assert.match(full.json().message, /rack-2 has no room/);
      assert.equal((await hosts('PATCH', `/api/admin/hosts/${rack.json().id}`, { draining: true })).statusCode, 200);
      const draining = await createDroplet({ name: 'drained', region: 'rack-2' });
      assertDoError(draining, 422, 'unprocessable_entity');
      assert.match(draining.json().message, /rack-2 takes no new VMs/);
    });

    test('/api/vms takes tags and a region (a host name) too, with the same rules', async () => {
      const res = await h.request({ method: 'POST', url: '/api/vms', token: alice.token, body: { name: 'api-tagged', image: 'tiny', size: 's-1vcpu-256mb', tags: ['a', 'b', 'a'], region: 'local' } });
      assert.equal(res.statusCode, 201, res.body);
      assert.deepEqual(res.json().tags, ['a', 'b']);
      assert.deepEqual((await h.request({ method: 'GET', url: '/api/vms', token: alice.token })).json()[0].tags, ['a', 'b']);
      const bad = await h.request({ method: 'POST', url: '/api/vms', token: alice.token, body: { name: 'api-bad', image: 'tiny', size: 's-1vcpu-256mb', region: 'nowhere' } });
      assert.equal(bad.statusCode, 400, bad.body);
      assert.equal(bad.json().details[0].field, 'region');
      const badTag = await h.request({ method: 'POST', url: '/api/vms', token: alice.token, body: { name: 'api-bad', image: 'tiny', size: 's-1vcpu-256mb', tags: ['no spaces'] } });
      assert.equal(badTag.statusCode, 400, badTag.body);
    });
  });
}
