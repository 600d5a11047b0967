import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { createHarness, type Harness } from '../../test-support/harness.js';
import { opensshKey } from '../../test-support/ssh-keys.js';

const assertDoError = (res: { statusCode: number; json(): any }, status: number, id: string) => {
  assert.equal(res.statusCode, status, JSON.stringify(res.json()));
  const body = res.json();
  assert.equal(body.id, id);
  assert.equal(typeof body.message, 'string');
  assert.ok(body.message.length > 0);
  assert.equal(typeof body.request_id, 'string');
};

for (const kind of testDatabaseKinds()) {
  describe(`DO /v2 account, keys, balance and token info (${kind})`, () => {
    let h: Harness;
    let alice: { id: number; token: string };
    let bob: { id: number; token: string };
    let admin: string;
    before(async () => {
      h = await createHarness(kind, { maxVmsPerUser: 7 });
      alice = await h.user('alice');
      bob = await h.user('bob');
      admin = await h.adminToken();
    });
    after(() => h.close());

    const tokenOf = async (owner: { token: string }, scope: 'read' | 'read-write', expires_in_days?: number) => {
      const res = await h.request({ method: 'POST', url: '/api/account/tokens', token: owner.token, body: { name: `t-${scope}-${Math.random()}`, scope, ...(expires_in_days ? { expires_in_days } : {}) } });
      assert.equal(res.statusCode, 201, res.body);
      return res.json().token as string;
    };

    test('GET /v2/account: the effective VM quota, a stable UUID per user, the e-mail and the status', async () => {
      const res = await h.request({ method: 'GET', url: '/v2/account', token: alice.token });
      assert.equal(res.statusCode, 200, res.body);
      const { account } = res.json();
      assert.equal(account.droplet_limit, 7);
      assert.equal(account.email, 'alice@example.com');
      assert.equal(account.status, 'active');
      assert.equal(res.headers['ratelimit-limit'], String(h.config.doRateLimitPerHour));
      assert.ok(Number(res.headers['ratelimit-reset']) > Date.now() / 1000, 'RateLimit-Reset is a Unix time');
      assert.match(account.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal((await h.request({ method: 'GET', url: '/v2/account', token: alice.token })).json().account.uuid, account.uuid, 'stable');
      assert.notEqual((await h.request({ method: 'GET', url: '/v2/account', token: bob.token })).json().account.uuid, account.uuid, 'per user');
      // An admin's per-user override is what counts, like on /api.
      const q = await h.request({ method: 'PATCH', url: `/api/admin/users/${alice.id}/quota`, token: admin, body: { max_vms: 2 } });
      assert.equal(q.statusCode, 200, q.body);
      assert.equal((await h.request({ method: 'GET', url: '/v2/account', token: alice.token })).json().account.droplet_limit, 2);
    });

    test('unauthenticated /v2 calls are 401 in DO shape', async () => {
      const res = await h.request({ method: 'GET', url: '/v2/account' });
      assertDoError(res, 401, 'unauthorized');
    });

    test('keys: add, list, get by id / MD5 / SHA256 fingerprint, rename, delete; fingerprints are what ssh-keygen prints', async () => {
      const key = opensshKey('alice@laptop');
      const created = await h.request({ method: 'POST', url: '/v2/account/keys', token: alice.token, body: { name: 'laptop', public_key: key.publicKey } });
      assert.equal(created.statusCode, 201, created.body);
      const k = created.json().ssh_key;
      assert.deepEqual(Object.keys(k).sort(), ['fingerprint', 'id', 'name', 'public_key']);
      assert.equal(k.fingerprint, key.md5);
      assert.equal(k.public_key, key.publicKey);
      assert.equal(k.name, 'laptop');

      const list = await h.request({ method: 'GET', url: '/v2/account/keys', token: alice.token });
      assert.equal(list.statusCode, 200);
      assert.deepEqual(list.json().ssh_keys, [k]);
      assert.deepEqual(list.json().meta, { total: 1 });
      assert.deepEqual(list.json().links, {});

      for (const ref of [String(k.id), key.md5, encodeURIComponent(key.sha256)]) {
        const got = await h.request({ method: 'GET', url: `/v2/account/keys/${ref}`, token: alice.token });
        assert.equal(got.statusCode, 200, `${ref}: ${got.body}`);
        assert.deepEqual(got.json().ssh_key, k);
      }

      const renamed = await h.request({ method: 'PUT', url: `/v2/account/keys/${key.md5}`, token: alice.token, body: { name: 'work laptop' } });
      assert.equal(renamed.statusCode, 200, renamed.body);
      assert.equal(renamed.json().ssh_key.name, 'work laptop');
      // The same key on /api: one set of rules and one store.
      assert.equal((await h.request({ method: 'GET', url: `/api/account/keys/${k.id}`, token: alice.token })).json().name, 'work laptop');
      assert.equal((await h.services.events.list({ action: 'ssh_key.renamed' })).length, 1);

      // Bob can reach none of it.
      assertDoError(await h.request({ method: 'GET', url: `/v2/account/keys/${k.id}`, token: bob.token }), 404, 'not_found');
      assertDoError(await h.request({ method: 'GET', url: `/v2/account/keys/${key.md5}`, token: bob.token }), 404, 'not_found');
      assertDoError(await h.request({ method: 'DELETE', url: `/v2/account/keys/${k.id}`, token: bob.token }), 404, 'not_found');

      const del = await h.request({ method: 'DELETE', url: `/v2/account/keys/${encodeURIComponent(key.sha256)}`, token: alice.token });
      assert.equal(del.statusCode, 204, del.body);
      assert.equal(del.body, '');
      assertDoError(await h.request({ method: 'GET', url: `/v2/account/keys/${k.id}`, token: alice.token }), 404, 'not_found');
      assert.equal((await h.services.events.list({ action: 'ssh_key.deleted' })).length, 1);
    });

    test('keys: bad input, duplicates and the key quota are 422s in DO shape; a read token gets 403', async () => {
      assertDoError(await h.request({ method: 'POST', url: '/v2/account/keys', token: alice.token, body: { name: 'junk', public_key: 'ssh-ed25519 not-a-key-at-all' } }), 422, 'unprocessable_entity');
      assertDoError(await h.request({ method: 'POST', url: '/v2/account/keys', token: alice.token, body: { public_key: opensshKey().publicKey } }), 422, 'unprocessable_entity');
      const key = opensshKey();
      assert.equal((await h.request({ method: 'POST', url: '/v2/account/keys', token: alice.token, body: { name: 'one', public_key: key.publicKey } })).statusCode, 201);
      const dup = await h.request({ method: 'POST', url: '/v2/account/keys', token: alice.token, body: { name: 'two', public_key: key.publicKey } });
      assertDoError(dup, 422, 'unprocessable_entity');
      assert.match(dup.json().message, /already registered/);
      assertDoError(await h.request({ method: 'PUT', url: `/v2/account/keys/${key.md5}`, token: alice.token, body: { name: '   ' } }), 422, 'unprocessable_entity');

      const read = await tokenOf(alice, 'read');
      assert.equal((await h.request({ method: 'GET', url: '/v2/account/keys', token: read })).statusCode, 200, 'a read token reads');
      assertDoError(await h.request({ method: 'POST', url: '/v2/account/keys', token: read, body: { name: 'x', public_key: opensshKey().publicKey } }), 403, 'forbidden');
      assertDoError(await h.request({ method: 'DELETE', url: `/v2/account/keys/${key.md5}`, token: read }), 403, 'forbidden');
    });

    test('GET /v2/customers/my/balance: credits as DO decimal strings, DO sign (credit negative), its identity holds', async () => {
      const carol = await h.user('carol');
      const grant = await h.request({ method: 'POST', url: `/api/admin/users/${carol.id}/credits`, token: admin, body: { amount: 500, reason: 'test' } });
      assert.equal(grant.statusCode, 200, grant.body);
      // Registration may grant starting credits: whatever /api says the balance is, plus nothing used yet.
      const start = (await h.request({ method: 'GET', url: '/api/account/billing', token: carol.token })).json().balance as number;
      assert.ok(start >= 500);
      let b = (await h.request({ method: 'GET', url: '/v2/customers/my/balance', token: carol.token })).json();
      const credit = (-start).toFixed(2);
      assert.deepEqual({ ...b, generated_at: undefined }, { month_to_date_balance: credit, account_balance: credit, month_to_date_usage: '0.00', generated_at: undefined });
      assert.ok(!Number.isNaN(Date.parse(b.generated_at)));
      // A VM's first hour is charged at creation (h.vm grants 100 000 credits first).
      await h.vm(carol, 'web-1');
      const balance = (await h.request({ method: 'GET', url: '/api/account/billing', token: carol.token })).json().balance as number;
      b = (await h.request({ method: 'GET', url: '/v2/customers/my/balance', token: carol.token })).json();
      const usage = start + 100_000 - balance;
      assert.ok(usage > 0, 'the first hour was charged');
      assert.equal(b.month_to_date_balance, (-balance).toFixed(2));
      assert.equal(b.month_to_date_usage, usage.toFixed(2));
      assert.equal(b.account_balance, (-(start + 100_000)).toFixed(2), 'before this month\'s usage: every credit granted');
      assert.equal(Number(b.account_balance) + Number(b.month_to_date_usage), Number(b.month_to_date_balance));
    });

    test('GET /v1/oauth/token/info (doctl auth init): owner, scopes, expiry and creation of the bearer token', async () => {
      const rw = await tokenOf(alice, 'read-write', 30);
      const res = await h.request({ method: 'GET', url: '/v1/oauth/token/info', token: rw });
      assert.equal(res.statusCode, 200, res.body);
      const info = res.json();
      assert.equal(info.resource_owner_id, alice.id);
      assert.deepEqual(info.scopes, ['read', 'write']);
      assert.ok(Math.abs(info.expires_in_seconds - 30 * 86400) < 120, String(info.expires_in_seconds));
      assert.ok(Math.abs(info.created_at - h.clock.now().getTime() / 1000) < 120, String(info.created_at));
      assert.deepEqual(info.application, { uid: '' });

      const read = await tokenOf(bob, 'read');
      const r = (await h.request({ method: 'GET', url: '/v1/oauth/token/info', token: read })).json();
      assert.equal(r.resource_owner_id, bob.id);
      assert.deepEqual(r.scopes, ['read']);
      assert.equal(r.expires_in_seconds, null, 'a token without expiry');

      assertDoError(await h.request({ method: 'GET', url: '/v1/oauth/token/info', token: 'tw_not-a-real-token' }), 401, 'unauthorized');
      assertDoError(await h.request({ method: 'GET', url: '/v1/oauth/token/info' }), 401, 'unauthorized');
    });
  });
}
