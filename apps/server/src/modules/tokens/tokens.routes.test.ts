import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { createHarness, type Harness } from '../../test-support/harness.js';

for (const kind of testDatabaseKinds()) {
  describe(`personal API tokens (${kind})`, () => {
    let h: Harness;
    let session: string;
    before(async () => {
      h = await createHarness(kind);
      session = (await h.user('tokyo')).token;
    });
    after(() => h.close());

    const create = (body: Record<string, unknown>, token = session) => h.request({ method: 'POST', url: '/api/account/tokens', token, body });

    test('a new token is shown once, then listed without its secret', async () => {
      const res = await create({ name: 'laptop', scope: 'read-write', expires_in_days: 30 });
      assert.equal(res.statusCode, 201);
      const created = res.json();
      assert.match(created.token, /^twp_[A-Za-z0-9_-]{43}$/);
      assert.equal(created.prefix, created.token.slice(0, 12));
      assert.ok(Date.parse(created.expires_at) > Date.now() + 29 * 86_400_000);
      const list = (await h.request({ method: 'GET', url: '/api/account/tokens', token: session })).json();
      const listed = list.find((t: { id: number }) => t.id === created.id);
      assert.equal(listed.name, 'laptop');
      assert.equal(listed.token, undefined, 'the secret is never listed');
      assert.ok(!JSON.stringify(list).includes(created.token));
      const ev = await h.services.events.list({ action: 'token.created' });
      assert.ok(ev.some((e) => e.username === 'tokyo' && e.type === 'auth' && e.source_ip));
    });

    test('a token works as a Bearer for the whole API and records its last use', async () => {
      const { token, id } = (await create({ name: 'ci', scope: 'read-write' })).json();
      const me = await h.request({ method: 'GET', url: '/api/auth/me', token });
      assert.equal(me.json().username, 'tokyo');
      const key = await h.request({ method: 'POST', url: '/api/account/keys', token, body: { name: 'from-ci', public_key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBzsiXwbHDkpnvNk0XvERC2OJSWaALvOBA6/mNUWbDtR ci' } });
      assert.equal(key.statusCode, 201, key.body);
      const listed = (await h.request({ method: 'GET', url: '/api/account/tokens', token })).json().find((t: { id: number }) => t.id === id);
      assert.ok(listed.last_used_at);
    });

    test('a read-scoped token can read but every write is 403', async () => {
      const { token } = (await create({ name: 'monitoring', scope: 'read' })).json();
      assert.equal((await h.request({ method: 'GET', url: '/api/account/keys', token })).statusCode, 200);
      const write = await create({ name: 'escalate', scope: 'read-write' }, token);
      assert.equal(write.statusCode, 403);
      assert.match(write.json().message, /read-only/);
      assert.equal((await h.request({ method: 'POST', url: '/api/auth/logout', token })).statusCode, 403);
    });

    test('an expired token is refused', async () => {
      const { token } = (await create({ name: 'short', scope: 'read', expires_in_days: 1 })).json();
      assert.equal((await h.request({ method: 'GET', url: '/api/auth/me', token })).statusCode, 200);
      h.clock.advanceMinutes(24 * 60 + 1);
      assert.equal((await h.request({ method: 'GET', url: '/api/auth/me', token })).statusCode, 401);
      session = (await h.request({ method: 'POST', url: '/api/auth/login', body: { username: 'tokyo', password: 'correct horse battery' } })).json().access_token;
    });

    test('revoking a token stops it at once; another user cannot revoke it (404)', async () => {
      const { token, id } = (await create({ name: 'temp', scope: 'read' })).json();
      const other = await h.user('osaka');
      const foreign = await h.request({ method: 'DELETE', url: `/api/account/tokens/${id}`, token: other.token });
      assert.equal(foreign.statusCode, 404);
      assert.equal((await h.request({ method: 'GET', url: '/api/auth/me', token })).statusCode, 200, 'still valid');
      assert.equal((await h.request({ method: 'DELETE', url: `/api/account/tokens/${id}`, token: session })).statusCode, 204);
      assert.equal((await h.request({ method: 'GET', url: '/api/auth/me', token })).statusCode, 401);
      assert.equal((await h.request({ method: 'DELETE', url: `/api/account/tokens/${id}`, token: session })).statusCode, 404);
      const ev = await h.services.events.list({ action: 'token.revoked' });
      assert.ok(ev.some((e) => e.username === 'tokyo' && (e.details as { token_id: number }).token_id === id));
    });

    test('bad token requests are 400 with details', async () => {
      for (const body of [{ name: '', scope: 'read' }, { name: 'x', scope: 'admin' }, { name: 'x', scope: 'read', expires_in_days: 0 }, { name: 'x' }]) {
        const res = await create(body);
        assert.equal(res.statusCode, 400, JSON.stringify(body));
        assert.equal(res.json().code, 'validation_failed');
      }
    });
  });
}
