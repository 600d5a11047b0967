import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildApp } from '../../app.js';
import { ConfigError, defaultConfig } from '../../config/config.js';
import { loadOrCreateSecrets } from '../../config/secrets.js';
import { createTestDatabase, testDatabaseKinds } from '../../test-support/databases.js';
import { createHarness, PASSWORD, type Harness } from '../../test-support/harness.js';

const PUBLIC_URL = 'https://cloud.example.com';

for (const kind of testDatabaseKinds()) {
  describe(`login and registration refuse other sites' pages (${kind})`, () => {
    let h: Harness;
    before(async () => {
      h = await createHarness(kind, { publicUrl: PUBLIC_URL });
      await h.user('victim');
    });
    after(() => h.close());

    // What a hidden auto-submitting form on evil.example sends: form encoding, the attacker's credentials.
    const formLogin = (headers: Record<string, string>) =>
      h.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        payload: `username=victim&password=${encodeURIComponent(PASSWORD)}&cookie=true`,
      });

    test('a cross-site form login is 403 csrf_failed, sets no session cookie, and is recorded', async () => {
      const attempts: Record<string, string>[] = [
        { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
        { 'sec-fetch-site': 'cross-site' },
        { origin: 'https://evil.example' },
        // A sibling sub-domain is another party's page too.
        { origin: 'https://blog.example.com', 'sec-fetch-site': 'same-site' },
        // DNS rebinding: Host and Origin agree, and both are the attacker's name.
        { host: 'rebound.attacker.example', origin: 'http://rebound.attacker.example' },
        { origin: 'null' },
      ];
      for (const headers of attempts) {
        const res = await formLogin(headers);
        assert.equal(res.statusCode, 403, `${JSON.stringify(headers)} → ${res.body}`);
        assert.equal(res.json().code, 'csrf_failed');
        assert.equal(res.cookies.length, 0, 'no session was created or replaced');
      }
      const denied = await h.services.events.list({ action: 'access.denied' });
      assert.ok(denied.some((e) => (e.details as { reason: string }).reason.startsWith('cross_site') && (e.details as { path: string }).path === '/api/auth/login'));
    });

    test('the site itself, and clients that are not browsers (no Origin, no Sec-Fetch-Site), still log in', async () => {
      const own = await formLogin({ origin: PUBLIC_URL, 'sec-fetch-site': 'same-origin' });
      assert.equal(own.statusCode, 200, own.body);
      assert.ok(own.cookies.some((c) => c.name === 'twarga_session'));
      const cli = await h.request({ method: 'POST', url: '/api/auth/login', body: { username: 'victim', password: PASSWORD } });
      assert.equal(cli.statusCode, 200, cli.body);
    });

    test('a cross-site registration is refused and creates nothing; the own origin registers', async () => {
      const body = { username: 'sneaky', email: 'sneaky@example.com', password: PASSWORD };
      const evil = await h.request({ method: 'POST', url: '/api/auth/register', body, headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' } });
      assert.equal(evil.statusCode, 403);
      assert.equal(evil.json().code, 'csrf_failed');
      assert.ok(!(await h.services.admin.listUsers()).some((u) => u.username === 'sneaky'));
      const own = await h.request({ method: 'POST', url: '/api/auth/register', body, headers: { origin: PUBLIC_URL, 'sec-fetch-site': 'same-origin' } });
      assert.equal(own.statusCode, 201, own.body);
    });
  });

  describe(`lockout is per account and source address (${kind})`, () => {
    let h: Harness;
    before(async () => {
      h = await createHarness(kind, { lockoutThreshold: 3, lockoutMinutes: 15 });
      await h.user('owner');
    });
    after(() => h.close());

    const login = (username: string, password: string, ip: string) =>
      h.app.inject({ method: 'POST', url: '/api/auth/login', remoteAddress: ip, payload: { username, password } });

    test("a stranger's failures lock only the stranger's address out, never the owner", async () => {
      for (let i = 0; i < 2; i++) assert.equal((await login('owner', `guess-number-${i}`, '192.0.2.66')).statusCode, 401);
      const locked = await login('owner', 'guess-number-3', '192.0.2.66');
      assert.equal(locked.statusCode, 429);
      assert.equal((await login('owner', PASSWORD, '192.0.2.66')).statusCode, 429, 'the attacker address stays locked, even with the right password');
      const ownerIn = await login('owner', PASSWORD, '198.51.100.7');
      assert.equal(ownerIn.statusCode, 200, `the owner, from their own address, is not locked out: ${ownerIn.body}`);
      // The owner's own typos count separately and do not lift the stranger's lock.
      assert.equal((await login('owner', 'typo-typo-typo', '198.51.100.7')).statusCode, 401);
      assert.equal((await login('owner', PASSWORD, '192.0.2.66')).statusCode, 429);
      h.clock.advanceMinutes(16);
      assert.equal((await login('owner', PASSWORD, '192.0.2.66')).statusCode, 200, 'the lock ends');
    });

    test('rotating addresses inside one IPv6 /64 does not reset the count', async () => {
      for (let i = 1; i <= 2; i++) assert.equal((await login('owner', `v6-guess-${i}`, `2001:db8:5:6::${i}`)).statusCode, 401);
      assert.equal((await login('owner', 'v6-guess-3', '2001:db8:5:6::a:3')).statusCode, 429);
      assert.equal((await login('owner', PASSWORD, '2001:db8:5:7::1')).statusCode, 200, 'another /64 is another source');
    });

    test('an unknown name answers exactly like a real account: same 401, same 429 at the same count', async () => {
      const strip = (r: { statusCode: number; json(): { code: string; message: string }; headers: Record<string, unknown> }) => ({
        status: r.statusCode,
        code: r.json().code,
        message: r.json().message,
        retryAfter: r.headers['retry-after'],
      });
      const real: unknown[] = [];
      const ghost: unknown[] = [];
      for (let i = 0; i < 4; i++) {
        real.push(strip(await login('owner', `wrong-${i}-password`, '203.0.113.5')));
        ghost.push(strip(await login('nobody-here', `wrong-${i}-password`, '203.0.113.5')));
      }
      assert.deepEqual(ghost, real);
      assert.deepEqual(real.map((r) => (r as { status: number }).status), [401, 401, 429, 429]);
      assert.doesNotMatch(JSON.stringify(real), /owner|nobody/);
    });
  });

  describe(`passwords are checked against common and breached ones (${kind})`, () => {
    let h: Harness;
    before(async () => {
      h = await createHarness(kind);
    });
    after(() => h.close());

    const register = (username: string, password: string, email = `${username}@example.com`) =>
      h.request({ method: 'POST', url: '/api/auth/register', body: { username, email, password } });
    const passwordDetail = (res: { json(): { details?: { field: string; message: string }[] } }, field = 'password') =>
      res.json().details?.find((d) => d.field === field)?.message ?? '';

    test('registration refuses common passwords with the estimator\'s advice', async () => {
      for (const weak of ['1234567890', 'password12', 'qwertyuiop12', 'iloveyou2024', 'Password123!']) {
        const res = await register('weakling', weak);
        assert.equal(res.statusCode, 400, `${weak} → ${res.body}`);
        assert.equal(res.json().code, 'validation_failed');
        assert.match(passwordDetail(res), /^is too easy to guess: .*(common|frequently|guess|predictable|words)/i, `${weak}: ${res.body}`);
      }
      assert.ok(!(await h.services.admin.listUsers()).some((u) => u.username === 'weakling'));
    });

    test('the e-mail address counts as a known word, and control characters are refused', async () => {
      const personal = await register('zoe', 'xylophagous.quetzal', 'xylophagous.quetzal@example.com');
      assert.equal(personal.statusCode, 400, personal.body);
      assert.match(passwordDetail(personal), /personal/);
      const control = await register('zoe', 'correct\thorse\u0007battery staple');
      assert.equal(control.statusCode, 400, control.body);
      assert.match(passwordDetail(control), /control characters/);
      assert.equal((await register('zoe', 'xylophagous quetzal marmalade')).statusCode, 201, 'a strong one passes');
    });

    test('a password change to a common password is refused, naming new_password', async () => {
      const { token } = await h.user('changer');
      const res = await h.request({ method: 'POST', url: '/api/auth/password', token, body: { current_password: PASSWORD, new_password: 'password12' } });
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(res.json().code, 'validation_failed');
      assert.match(passwordDetail(res, 'new_password'), /too easy to guess/);
      assert.equal((await h.request({ method: 'POST', url: '/api/auth/login', body: { username: 'changer', password: PASSWORD } })).statusCode, 200, 'unchanged');
    });
  });

  describe(`the first admin's password (${kind})`, () => {
    test('a weak TWARGA_ADMIN_PASSWORD stops the start with a clear message; a strong one works', async () => {
      const db = await createTestDatabase(kind);
      const config = { ...defaultConfig(), dataDir: db.dataDir, logLevel: 'silent' as const, webDir: '/nonexistent-web-dir' };
      const { app, services } = await buildApp({ config, secrets: loadOrCreateSecrets(db.dataDir), database: db.handle, logger: false });
      try {
        await assert.rejects(
          services.auth.ensureAdmin({ username: 'admin', email: 'admin@example.com', password: 'password123' }),
          (err: Error) => err instanceof ConfigError && /TWARGA_ADMIN_PASSWORD is too easy to guess/.test(err.message),
        );
        assert.equal((await services.admin.listUsers()).length, 0, 'no admin was created');
        const made = await services.auth.ensureAdmin({ username: 'admin', email: 'admin@example.com', password: 'admin granite lighthouse' });
        assert.equal(made.created, true);
      } finally {
        await app.close();
        await db.cleanup();
      }
    });
  });
}
