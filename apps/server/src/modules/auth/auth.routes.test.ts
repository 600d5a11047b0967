import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, type EventCode } from '@twarga/contract';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { createHarness, PASSWORD, type Harness } from '../../test-support/harness.js';

for (const kind of testDatabaseKinds()) {
  describe(`accounts and sessions (${kind})`, () => {
    let h: Harness;
    before(async () => {
      h = await createHarness(kind, { lockoutThreshold: 3, lockoutMinutes: 15 });
    });
    after(() => h.close());

    const register = (body: Record<string, unknown>) => h.request({ method: 'POST', url: '/api/auth/register', body });
    const events = (action: EventCode) => h.services.events.list({ action });

    test('registration returns the seed fields and grants 1000 credits through the ledger', async () => {
      const res = await register({ username: 'alice', email: 'Alice@Example.com', password: PASSWORD });
      assert.equal(res.statusCode, 201);
      const user = res.json();
      assert.deepEqual(Object.keys(user).sort(), ['created_at', 'credits', 'email', 'id', 'is_active', 'is_admin', 'username']);
      assert.equal(user.username, 'alice');
      assert.equal(user.email, 'alice@example.com', 'e-mail is normalised to lower case');
      assert.equal(user.is_admin, false);
      assert.equal(user.credits, 1000);
      const token = (await h.request({ method: 'POST', url: '/api/auth/login', body: { username: 'alice', password: PASSWORD } })).json().access_token;
      const ledger = (await h.request({ method: 'GET', url: '/api/account/ledger', token })).json();
      assert.equal(ledger.length, 1);
      assert.equal(ledger[0].amount, 1000);
      assert.equal(ledger[0].balance_after, 1000);
      assert.equal(ledger[0].actor_id, null);
    });

    test('registration rejects bad usernames, e-mails and weak passwords with field details', async () => {
      const cases: [Record<string, unknown>, string][] = [
        [{ username: 'ab', email: 'x@example.com', password: PASSWORD }, 'username'],
        [{ username: 'Bob', email: 'x@example.com', password: PASSWORD }, 'username'],
        [{ username: '; touch /tmp/x', email: 'x@example.com', password: PASSWORD }, 'username'],
        [{ username: 'bob', email: 'not-an-email', password: PASSWORD }, 'email'],
        [{ username: 'bob', email: 'bob@', password: PASSWORD }, 'email'],
        [{ username: 'bob', email: 'bob@example.com', password: 'short' }, 'password'],
        [{ username: 'bob', email: 'bob@example.com', password: 'bob-is-my-password' }, 'password'],
        [{ username: 'bob', email: 'bob@example.com', password: 'aaaaaaaaaaaa' }, 'password'],
        [{ username: 'bob', email: 'bob@example.com' }, 'password'],
        [{ username: 'bob', email: 'bob@example.com', password: PASSWORD, is_admin: true }, 'is_admin'],
      ];
      for (const [body, field] of cases) {
        const res = await register(body);
        assert.equal(res.statusCode, 400, `${JSON.stringify(body)} → ${res.body}`);
        const err = res.json();
        assert.equal(err.code, 'validation_failed');
        assert.ok(err.request_id);
        assert.ok(err.details.some((d: { field: string }) => d.field === field), `${field} in ${res.body}`);
      }
      const users = await h.services.admin.listUsers();
      assert.ok(!users.some((u) => u.username === 'bob'), 'nothing was created');
    });

    test('duplicate username or e-mail (any case) is a 409 naming the field', async () => {
      await register({ username: 'carol', email: 'carol@example.com', password: PASSWORD });
      const byName = await register({ username: 'carol', email: 'other@example.com', password: PASSWORD });
      assert.equal(byName.statusCode, 409);
      assert.equal(byName.json().code, 'conflict');
      assert.deepEqual(byName.json().details.map((d: { field: string }) => d.field), ['username']);
      const byEmail = await register({ username: 'carol2', email: 'CAROL@example.com', password: PASSWORD });
      assert.equal(byEmail.statusCode, 409);
      assert.deepEqual(byEmail.json().details.map((d: { field: string }) => d.field), ['email']);
    });

    test('login accepts JSON and the seed form encoding, by username or e-mail', async () => {
      await register({ username: 'dave', email: 'dave@example.com', password: PASSWORD });
      const json = await h.request({ method: 'POST', url: '/api/auth/login', body: { username: 'dave', password: PASSWORD } });
      assert.equal(json.statusCode, 200);
      assert.equal(json.json().token_type, 'bearer');
      assert.match(json.json().access_token, /^tws_/);
      const form = await h.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: `username=dave%40example.com&password=${encodeURIComponent(PASSWORD)}`,
      });
      assert.equal(form.statusCode, 200, form.body);
      const me = await h.request({ method: 'GET', url: '/api/auth/me', token: form.json().access_token });
      assert.equal(me.json().username, 'dave');
      assert.ok((await events('login.succeeded')).some((e) => e.username === 'dave' && e.source_ip === '127.0.0.1'));
    });

    test('wrong password and unknown user are both 401 invalid_credentials, recorded as events', async () => {
      const wrong = await h.request({ method: 'POST', url: '/api/auth/login', body: { username: 'dave', password: 'nope-nope-nope' } });
      assert.equal(wrong.statusCode, 401);
      assert.equal(wrong.json().code, 'invalid_credentials');
      const unknown = await h.request({ method: 'POST', url: '/api/auth/login', body: { username: 'nobody', password: 'nope-nope-nope' } });
      assert.equal(unknown.statusCode, 401);
      assert.equal(unknown.json().message, wrong.json().message, 'no hint whether the user exists');
      const failed = await events('login.failed');
      assert.ok(failed.some((e) => e.username === 'dave' && e.type === 'auth' && e.source_ip === '127.0.0.1'));
      assert.ok(failed.some((e) => e.user_id === null && (e.details as { login: string }).login === 'nobody'));
    });

    test('repeated failures lock the account, even against the right password, until the lockout ends', async () => {
      await register({ username: 'erin', email: 'erin@example.com', password: PASSWORD });
      const attempt = (password: string) => h.request({ method: 'POST', url: '/api/auth/login', body: { username: 'erin', password } });
      assert.equal((await attempt('wrong-password-1')).statusCode, 401);
      assert.equal((await attempt('wrong-password-2')).statusCode, 401);
      const third = await attempt('wrong-password-3');
      assert.equal(third.statusCode, 429);
      assert.equal(third.json().code, 'account_locked');
      assert.ok(Number(third.headers['retry-after']) > 800);
      const right = await attempt(PASSWORD);
      assert.equal(right.statusCode, 429, 'locked even with the right password');
      assert.ok((await events('account.locked')).some((e) => e.username === 'erin' && e.type === 'security'));
      assert.ok((await events('login.blocked')).some((e) => e.username === 'erin'));
      h.clock.advanceMinutes(16);
      assert.equal((await attempt(PASSWORD)).statusCode, 200, 'unlocked after the lockout');
    });

    test('a successful login resets the failure count', async () => {
      await register({ username: 'frank', email: 'frank@example.com', password: PASSWORD });
      const attempt = (password: string) => h.request({ method: 'POST', url: '/api/auth/login', body: { username: 'frank', password } });
      await attempt('wrong-password-1');
      await attempt('wrong-password-2');
      assert.equal((await attempt(PASSWORD)).statusCode, 200);
      await attempt('wrong-password-3');
      assert.equal((await attempt('wrong-password-4')).statusCode, 401, 'count restarted after success');
    });

    test('logout really revokes the token', async () => {
      const { token } = await h.user('grace');
      assert.equal((await h.request({ method: 'GET', url: '/api/auth/me', token })).statusCode, 200);
      assert.equal((await h.request({ method: 'POST', url: '/api/auth/logout', token })).statusCode, 204);
      const after = await h.request({ method: 'GET', url: '/api/auth/me', token });
      assert.equal(after.statusCode, 401);
      assert.equal(after.json().code, 'unauthorized');
      assert.ok((await events('logout')).some((e) => e.username === 'grace'));
    });

    test('sessions expire after the configured lifetime', async () => {
      const { token } = await h.user('heidi');
      h.clock.advanceMinutes(h.config.sessionTtlHours * 60 + 1);
      assert.equal((await h.request({ method: 'GET', url: '/api/auth/me', token })).statusCode, 401);
    });

    test('password change needs the current password and ends the other sessions', async () => {
      const { token } = await h.user('ivan');
      const other = (await h.request({ method: 'POST', url: '/api/auth/login', body: { username: 'ivan', password: PASSWORD } })).json().access_token;
      const wrong = await h.request({ method: 'POST', url: '/api/auth/password', token, body: { current_password: 'not-it-at-all', new_password: 'a brand new secret' } });
      assert.equal(wrong.statusCode, 400);
      assert.equal(wrong.json().code, 'invalid_credentials');
      const ok = await h.request({ method: 'POST', url: '/api/auth/password', token, body: { current_password: PASSWORD, new_password: 'a brand new secret' } });
      assert.equal(ok.statusCode, 204);
      assert.equal((await h.request({ method: 'GET', url: '/api/auth/me', token })).statusCode, 200, 'this session stays');
      assert.equal((await h.request({ method: 'GET', url: '/api/auth/me', token: other })).statusCode, 401, 'other sessions end');
      const oldPw = await h.request({ method: 'POST', url: '/api/auth/login', body: { username: 'ivan', password: PASSWORD } });
      assert.equal(oldPw.statusCode, 401);
      const newPw = await h.request({ method: 'POST', url: '/api/auth/login', body: { username: 'ivan', password: 'a brand new secret' } });
      assert.equal(newPw.statusCode, 200);
    });

    test('browser login sets an httpOnly SameSite cookie; cookie writes need the CSRF token', async () => {
      await h.user('judy');
      const res = await h.request({ method: 'POST', url: '/api/auth/login', body: { username: 'judy', password: PASSWORD, cookie: true } });
      assert.equal(res.statusCode, 200);
      assert.equal(res.json().token_type, 'cookie');
      assert.equal(res.json().access_token, undefined, 'no token in the body of the cookie flow');
      const session = res.cookies.find((c) => c.name === SESSION_COOKIE)!;
      const csrf = res.cookies.find((c) => c.name === CSRF_COOKIE)!;
      assert.equal(session.httpOnly, true);
      assert.equal(session.sameSite, 'Strict');
      assert.notEqual(csrf.httpOnly, true, 'the UI reads the CSRF cookie');
      assert.equal(csrf.value, res.json().csrf_token);
      const cookies = { [SESSION_COOKIE]: session.value };
      assert.equal((await h.request({ method: 'GET', url: '/api/auth/me', cookies })).json().username, 'judy');
      const key = { name: 'k', public_key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test' };
      const noCsrf = await h.request({ method: 'POST', url: '/api/account/keys', cookies, body: key });
      assert.equal(noCsrf.statusCode, 403);
      assert.equal(noCsrf.json().code, 'csrf_failed');
      const badCsrf = await h.request({ method: 'POST', url: '/api/account/keys', cookies, body: key, headers: { [CSRF_HEADER]: 'forged' } });
      assert.equal(badCsrf.statusCode, 403);
      const withCsrf = await h.request({ method: 'POST', url: '/api/account/keys', cookies, body: key, headers: { [CSRF_HEADER]: csrf.value } });
      assert.equal(withCsrf.statusCode, 201, withCsrf.body);
      const out = await h.request({ method: 'POST', url: '/api/auth/logout', cookies, headers: { [CSRF_HEADER]: csrf.value } });
      assert.equal(out.statusCode, 204);
      assert.ok(out.cookies.some((c) => c.name === SESSION_COOKIE && c.value === ''), 'cookie cleared');
      assert.equal((await h.request({ method: 'GET', url: '/api/auth/me', cookies })).statusCode, 401, 'cookie session revoked');
    });

    test('a deactivated user can neither log in nor use existing tokens', async () => {
      const { id, token } = await h.user('mallory');
      const apiToken = (await h.request({ method: 'POST', url: '/api/account/tokens', token, body: { name: 'ci', scope: 'read' } })).json().token;
      const admin = await h.adminToken();
      const off = await h.request({ method: 'PATCH', url: `/api/admin/users/${id}`, token: admin, body: { is_active: false } });
      assert.equal(off.statusCode, 200);
      assert.equal(off.json().is_active, false);
      assert.equal((await h.request({ method: 'GET', url: '/api/auth/me', token })).statusCode, 401);
      assert.equal((await h.request({ method: 'GET', url: '/api/auth/me', token: apiToken })).statusCode, 401);
      const login = await h.request({ method: 'POST', url: '/api/auth/login', body: { username: 'mallory', password: PASSWORD } });
      assert.equal(login.statusCode, 403);
      assert.equal(login.json().code, 'forbidden');
    });
  });
}

describe('login rate limit per IP', () => {
  test('the (N+1)th login from one address within a minute is 429 rate_limited and recorded', async () => {
    const h = await createHarness('sqlite', { loginRateLimitPerMinute: 3 });
    try {
      const attempt = (ip: string) =>
        h.app.inject({ method: 'POST', url: '/api/auth/login', remoteAddress: ip, payload: { username: 'x', password: 'y' } });
      for (let i = 0; i < 3; i++) assert.equal((await attempt('127.0.0.9')).statusCode, 401);
      const limited = await attempt('127.0.0.9');
      assert.equal(limited.statusCode, 429);
      assert.equal(limited.json().code, 'rate_limited');
      assert.ok(limited.json().request_id);
      assert.equal((await attempt('127.0.0.10')).statusCode, 401, 'another address is not limited');
      const recorded = await h.services.events.list({ action: 'rate_limited' });
      assert.ok(recorded.some((e) => e.source_ip === '127.0.0.9' && e.type === 'security'));
    } finally {
      await h.close();
    }
  });
});

describe('closed registration', () => {
  test('is a 403 with a clear message, recorded, and creates nothing', async () => {
    const h = await createHarness('sqlite', { allowRegistration: false });
    try {
      const res = await h.request({ method: 'POST', url: '/api/auth/register', body: { username: 'late', email: 'late@example.com', password: PASSWORD } });
      assert.equal(res.statusCode, 403);
      assert.match(res.json().message, /closed/);
      assert.equal((await h.services.events.list({ action: 'register.denied' })).length, 1);
      assert.ok(!(await h.services.admin.listUsers()).some((u) => u.username === 'late'));
    } finally {
      await h.close();
    }
  });
});
