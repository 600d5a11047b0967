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

    test('a token cannot create a token that outlives it; a session can create any', async () => {
      const parent = (await create({ name: 'week', scope: 'read-write', expires_in_days: 7 })).json();
      for (const body of [{ name: 'forever', scope: 'read-write' }, { name: 'longer', scope: 'read', expires_in_days: 8 }]) {
        const res = await create(body, parent.token);
        assert.equal(res.statusCode, 403, `${JSON.stringify(body)} → ${res.body}`);
        assert.equal(res.json().code, 'forbidden');
        assert.match(res.json().message, /must not outlive it: set expires_in_days to at most 7/);
        assert.equal(res.json().details[0].field, 'expires_in_days');
      }
      const child = await create({ name: 'same-week', scope: 'read', expires_in_days: 7 }, parent.token);
      assert.equal(child.statusCode, 201, child.body);
      assert.ok(Date.parse(child.json().expires_at) <= Date.parse(parent.expires_at));
      // A day before the parent ends, it can no longer create any token: the hint says to log in.
      h.clock.advanceMinutes(6.5 * 24 * 60);
      const late = await create({ name: 'late', scope: 'read', expires_in_days: 1 }, parent.token);
      assert.equal(late.statusCode, 403);
      assert.match(late.json().message, /log in/);
      session = (await h.request({ method: 'POST', url: '/api/auth/login', body: { username: 'tokyo', password: 'correct horse battery' } })).json().access_token;
      // A token without expiry and a session may create tokens without expiry.
      const permanent = (await create({ name: 'permanent', scope: 'read-write' })).json();
      assert.equal(permanent.expires_at, null);
      const grandchild = await create({ name: 'also-permanent', scope: 'read-write' }, permanent.token);
      assert.equal(grandchild.statusCode, 201, grandchild.body);
      const ev = (await h.services.events.list({ action: 'token.created' })).find((e) => (e.details as { token_id: number }).token_id === grandchild.json().id);
      assert.equal((ev?.details as { parent_token_id: number }).parent_token_id, permanent.id);
    });

    test('a password change ends other sessions but API tokens keep working', async () => {
      const { token } = (await create({ name: 'cron', scope: 'read' })).json();
      const other = (await h.request({ method: 'POST', url: '/api/auth/login', body: { username: 'tokyo', password: 'correct horse battery' } })).json().access_token;
      assert.equal((await h.request({ method: 'GET', url: '/api/auth/me', token: other })).statusCode, 200);
      const changed = await h.request({ method: 'POST', url: '/api/auth/password', token: session, body: { current_password: 'correct horse battery', new_password: 'a brand new passphrase' } });
      assert.equal(changed.statusCode, 204, changed.body);
      assert.equal((await h.request({ method: 'GET', url: '/api/auth/me', token: other })).statusCode, 401, 'the other session ended');
      assert.equal((await h.request({ method: 'GET', url: '/api/auth/me', token: session })).statusCode, 200, 'the session that changed it stays');
      assert.equal((await h.request({ method: 'GET', url: '/api/auth/me', token })).statusCode, 200, 'the token survives, like a GitHub PAT');
    });

    test('revoke all: every token of the user stops at once, the session and other users are untouched', async () => {
      const a = (await create({ name: 'all-a', scope: 'read' })).json();
      const b = (await create({ name: 'all-b', scope: 'read-write' })).json();
      const other = await h.user('kyoto');
      const theirs = (await create({ name: 'theirs', scope: 'read' }, other.token)).json();
      // Used just before: a remembered identity must not outlive the revocation.
      assert.equal((await h.request({ method: 'GET', url: '/api/auth/me', token: a.token })).statusCode, 200);
      const before = (await h.request({ method: 'GET', url: '/api/account/tokens', token: session })).json().length;
      const res = await h.request({ method: 'DELETE', url: '/api/account/tokens', token: session });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().revoked, before);
      for (const t of [a, b]) assert.equal((await h.request({ method: 'GET', url: '/api/auth/me', token: t.token })).statusCode, 401, t.name);
      assert.deepEqual((await h.request({ method: 'GET', url: '/api/account/tokens', token: session })).json(), []);
      assert.equal((await h.request({ method: 'GET', url: '/api/auth/me', token: session })).statusCode, 200);
      assert.equal((await h.request({ method: 'GET', url: '/api/auth/me', token: theirs.token })).statusCode, 200, "another user's token still works");
      const ev = await h.services.events.list({ action: 'token.revoked_all' });
      assert.ok(ev.some((e) => e.username === 'tokyo' && (e.details as { revoked: number }).revoked === before));

      // A read-write token may pull the plug on all tokens, itself included; a read one may not.
      const ro = (await create({ name: 'ro', scope: 'read' })).json();
      assert.equal((await h.request({ method: 'DELETE', url: '/api/account/tokens', token: ro.token })).statusCode, 403);
      const rw = (await create({ name: 'rw', scope: 'read-write' })).json();
      const self = await h.request({ method: 'DELETE', url: '/api/account/tokens', token: rw.token });
      assert.deepEqual(self.json(), { revoked: 2 });
      assert.equal((await h.request({ method: 'GET', url: '/api/auth/me', token: rw.token })).statusCode, 401);
    });

    test('bad token requests are 400 with details', async () => {
      for (const body of [{ name: '', scope: 'read' }, { name: 'x', scope: 'admin' }, { name: 'x', scope: 'read', expires_in_days: 0 }, { name: 'x' }]) {
        const res = await create(body);
        assert.equal(res.statusCode, 400, JSON.stringify(body));
        assert.equal(res.json().code, 'validation_failed');
      }
    });
  });

  describe(`API token limit per user (${kind})`, () => {
    let h: Harness;
    before(async () => {
      h = await createHarness(kind, { maxTokensPerUser: 3 });
    });
    after(() => h.close());

    test('the limit counts live tokens: 403 quota_exceeded past it, room again after a revoke or an expiry', async () => {
      const { token: session } = await h.user('hoarder');
      const create = (name: string, extra: Record<string, unknown> = {}) => h.request({ method: 'POST', url: '/api/account/tokens', token: session, body: { name, scope: 'read', ...extra } });
      const first = (await create('t1')).json();
      assert.equal((await create('t2')).statusCode, 201);
      assert.equal((await create('t3', { expires_in_days: 1 })).statusCode, 201);
      const over = await create('t4');
      assert.equal(over.statusCode, 403, over.body);
      assert.equal(over.json().code, 'quota_exceeded');
      assert.match(over.json().message, /at most 3 API tokens/);
      assert.equal((await h.request({ method: 'GET', url: '/api/account/tokens', token: session })).json().length, 3, 'nothing was created');
      // Another user has their own allowance.
      const other = await h.user('frugal');
      assert.equal((await h.request({ method: 'POST', url: '/api/account/tokens', token: other.token, body: { name: 'x', scope: 'read' } })).statusCode, 201);

      assert.equal((await h.request({ method: 'DELETE', url: `/api/account/tokens/${first.id}`, token: session })).statusCode, 204);
      assert.equal((await create('t4')).statusCode, 201, 'a revoked token frees its slot');
      assert.equal((await create('t5')).statusCode, 403);
      h.clock.advanceMinutes(24 * 60 + 1);
      const again = await h.request({ method: 'POST', url: '/api/auth/login', body: { username: 'hoarder', password: 'correct horse battery' } });
      const fresh = again.json().access_token;
      const afterExpiry = await h.request({ method: 'POST', url: '/api/account/tokens', token: fresh, body: { name: 't5', scope: 'read' } });
      assert.equal(afterExpiry.statusCode, 201, 'an expired token frees its slot');
    });

    test('parallel creates cannot go past the limit', async () => {
      const { token } = await h.user('racer');
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => h.request({ method: 'POST', url: '/api/account/tokens', token, body: { name: `p${i}`, scope: 'read' } })));
      assert.deepEqual(results.map((r) => r.statusCode).sort(), [201, 201, 201, 403, 403, 403]);
    });
  });
}
