import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { SESSION_COOKIE } from '@twarga/contract';
import { buildApp } from '../app.js';
import { defaultConfig } from '../config/config.js';
import { loadOrCreateSecrets } from '../config/secrets.js';
import { createHarness, PASSWORD, TestClock, type Harness } from '../test-support/harness.js';
import { createTestDatabase } from '../test-support/databases.js';

const THEME_SCRIPT = "document.documentElement.classList.add('dark');";

/** Walks every registered route: the access rule is proven for all of them, not a sample. */
describe('role checks on every route', () => {
  let h: Harness;
  let webDir: string;
  let userToken: string;
  let adminToken: string;
  before(async () => {
    webDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-web-'));
    writeFileSync(path.join(webDir, 'index.html'), `<!doctype html><title>Twarga Cloud</title><script>${THEME_SCRIPT}</script><script type="module" src="/assets/app.js"></script>`);
    mkdirSync(path.join(webDir, 'assets'));
    writeFileSync(path.join(webDir, 'assets', 'app.js'), 'console.log("twarga");');
    writeFileSync(path.join(webDir, 'favicon.txt'), 'not hashed');
    h = await createHarness('sqlite', { webDir });
    userToken = (await h.user('plain')).token;
    adminToken = await h.adminToken();
  });
  after(async () => {
    await h.close();
    rmSync(webDir, { recursive: true, force: true });
  });

  const concrete = (url: string) => url.replace(/:[a-z_]+/g, '1').replace('*', 'x');
  // GET /metrics (Prometheus) is not under /api but answers with the API's rules (admin by default).
  const apiRoutes = () =>
    h.routes.filter((r) => (r.url.startsWith('/api/') || r.url === '/metrics') && !r.url.startsWith('/api/docs') && r.method !== 'HEAD' && r.method !== 'OPTIONS');

  test('the route table declares access for every API route, and there are admin routes to check', () => {
    assert.ok(apiRoutes().length >= 14, `found ${apiRoutes().length} API routes`);
    assert.ok(apiRoutes().some((r) => r.access === 'admin'));
    for (const r of apiRoutes()) assert.ok(['public', 'user', 'admin'].includes(r.access), `${r.method} ${r.url}`);
  });

  test('every route, pages, /health, /metrics and the API docs included, declares its access', () => {
    for (const r of h.routes) assert.ok(['public', 'user', 'admin'].includes(r.access), `${r.method} ${r.url} has access ${String(r.access)}`);
    const declared = (method: string, url: string) => h.routes.find((r) => r.method === method && r.url === url)?.access;
    assert.equal(declared('GET', '/health'), 'public');
    assert.equal(declared('GET', '/metrics'), 'admin');
    assert.equal(declared('GET', '/login'), 'public');
    assert.equal(declared('GET', '/admin'), 'public', 'a page checks its session itself, to redirect to the login');
    assert.equal(declared('GET', '/*'), 'public', 'the built files');
    assert.equal(declared('GET', '/api/terminal/ws'), 'public', 'the websocket checks its single-use ticket');
    assert.equal(declared('GET', '/api/docs'), 'public');
    assert.equal(declared('GET', '/api/docs/json'), 'public');
  });

  test('the built files are still served (public, cached for good) and a missing one is a 404', async () => {
    const asset = await h.request({ method: 'GET', url: '/assets/app.js' });
    assert.equal(asset.statusCode, 200);
    assert.equal(asset.body, 'console.log("twarga");');
    assert.match(String(asset.headers['cache-control']), /immutable/);
    assert.equal((await h.request({ method: 'HEAD', url: '/assets/app.js' })).statusCode, 200);
    assert.equal((await h.request({ method: 'GET', url: '/favicon.txt' })).headers['cache-control'], 'public, max-age=0', 'a file not under assets/ is not cached for good');
    assert.equal((await h.request({ method: 'GET', url: '/assets/missing.js' })).statusCode, 404);
    const escape = await h.request({ method: 'GET', url: '/assets/..%2f..%2f..%2f..%2fetc%2fpasswd' });
    assert.ok([403, 404].includes(escape.statusCode), `a path out of the web directory: ${escape.statusCode}`);
    assert.doesNotMatch(escape.body, /root:/);
  });

  test('without credentials every non-public API route answers 401 with the error body', async () => {
    for (const r of apiRoutes().filter((r) => r.access !== 'public')) {
      const res = await h.request({ method: r.method as 'GET', url: concrete(r.url), body: r.method === 'GET' || r.method === 'DELETE' ? undefined : {} });
      assert.equal(res.statusCode, 401, `${r.method} ${r.url} → ${res.statusCode}`);
      assert.equal(res.json().code, 'unauthorized');
      assert.ok(res.json().request_id);
    }
  });

  test('a garbage or revoked bearer token is 401 too', async () => {
    const garbage = await h.request({ method: 'GET', url: '/api/auth/me', token: 'twp_not-a-real-token' });
    assert.equal(garbage.statusCode, 401);
    assert.equal(garbage.json().code, 'unauthorized');
    // A real API token and a real session, each working until revoked, then refused.
    const created = await h.request({ method: 'POST', url: '/api/account/tokens', token: userToken, body: { name: 'soon-revoked', scope: 'read' } });
    assert.equal(created.statusCode, 201, created.body);
    const apiToken = created.json().token as string;
    assert.equal((await h.request({ method: 'GET', url: '/api/auth/me', token: apiToken })).statusCode, 200);
    assert.equal((await h.request({ method: 'DELETE', url: `/api/account/tokens/${created.json().id}`, token: userToken })).statusCode, 204);
    const revokedToken = await h.request({ method: 'GET', url: '/api/auth/me', token: apiToken });
    assert.equal(revokedToken.statusCode, 401);
    assert.equal(revokedToken.json().code, 'unauthorized');
    const session = (await h.request({ method: 'POST', url: '/api/auth/login', body: { username: 'plain', password: PASSWORD } })).json().access_token as string;
    assert.equal((await h.request({ method: 'GET', url: '/api/auth/me', token: session })).statusCode, 200);
    assert.equal((await h.request({ method: 'POST', url: '/api/auth/logout', token: session })).statusCode, 204);
    const revokedSession = await h.request({ method: 'GET', url: '/api/auth/me', token: session });
    assert.equal(revokedSession.statusCode, 401);
    assert.equal(revokedSession.json().code, 'unauthorized');
  });

  test('a plain user gets 403 on every admin route, and each denial is a security event', async () => {
    const admin = apiRoutes().filter((r) => r.access === 'admin');
    for (const r of admin) {
      const res = await h.request({ method: r.method as 'GET', url: concrete(r.url), token: userToken, body: r.method === 'GET' ? undefined : {} });
      assert.equal(res.statusCode, 403, `${r.method} ${r.url} → ${res.statusCode}`);
      assert.equal(res.json().code, 'forbidden');
    }
    const denied = await h.services.events.list({ action: 'access.denied' });
    assert.ok(denied.filter((e) => e.username === 'plain' && e.type === 'security' && e.source_ip === '127.0.0.1').length >= admin.length);
  });

  test('an admin passes the admin routes', async () => {
    const res = await h.request({ method: 'GET', url: '/api/admin/users', token: adminToken });
    assert.equal(res.statusCode, 200);
    assert.ok(res.json().some((u: { username: string }) => u.username === 'plain'));
  });

  test('pages: no session redirects to login, a user is refused admin pages, an admin gets them', async () => {
    const anon = await h.request({ method: 'GET', url: '/account' });
    assert.equal(anon.statusCode, 302);
    assert.equal(anon.headers.location, '/login?next=%2Faccount');
    assert.equal((await h.request({ method: 'GET', url: '/login' })).statusCode, 200);
    const cookie = async (username: string, password: string) => {
      const res = await h.request({ method: 'POST', url: '/api/auth/login', body: { username, password, cookie: true } });
      return { [SESSION_COOKIE]: res.cookies.find((c) => c.name === SESSION_COOKIE)!.value };
    };
    const userCookies = await cookie('plain', PASSWORD);
    assert.equal((await h.request({ method: 'GET', url: '/vms', cookies: userCookies })).statusCode, 200);
    const forbidden = await h.request({ method: 'GET', url: '/admin', cookies: userCookies });
    assert.equal(forbidden.statusCode, 403);
    assert.match(forbidden.body, /Administrators only/);
    const denied = await h.services.events.list({ action: 'access.denied' });
    assert.ok(denied.some((e) => e.username === 'plain' && (e.details as { path: string }).path === '/admin'));
    const adminCookies = await cookie('admin', 'Adm1n-test-password');
    assert.equal((await h.request({ method: 'GET', url: '/admin', cookies: adminCookies })).statusCode, 200);
  });

  test('pages carry a Content-Security-Policy: scripts from this origin and the inline theme script by its hash only', async () => {
    const page = await h.request({ method: 'GET', url: '/login' });
    const policy = String(page.headers['content-security-policy']);
    const directives = new Map(policy.split(/;\s*/).map((d) => [d.split(' ')[0]!, d.split(' ').slice(1)]));
    const hash = `'sha256-${createHash('sha256').update(THEME_SCRIPT).digest('base64')}'`;
    assert.deepEqual(directives.get('script-src'), ["'self'", "'wasm-unsafe-eval'", hash]);
    assert.deepEqual(directives.get('frame-ancestors'), ["'none'"]);
    assert.deepEqual(directives.get('object-src'), ["'none'"]);
    assert.deepEqual(directives.get('connect-src'), ["'self'"]);
    assert.ok(!policy.includes("'unsafe-eval'") && !/script-src[^;]*'unsafe-inline'/.test(policy), policy);
    const docs = await h.request({ method: 'GET', url: '/api/docs/' });
    assert.match(String(docs.headers['content-security-policy']), /script-src 'self';/);
  });
});

describe('a route that does not declare its access stops the server from starting', () => {
  const build = async (db: Awaited<ReturnType<typeof createTestDatabase>>) =>
    (await buildApp({ config: { ...defaultConfig(), dataDir: db.dataDir, logLevel: 'silent', webDir: '/nonexistent-web-dir' }, secrets: loadOrCreateSecrets(db.dataDir), database: db.handle, clock: new TestClock(), logger: false })).app;

  for (const url of ['/status', '/api/status', '/api/docsish']) {
    test(`an undeclared ${url}: the app refuses to start`, async () => {
      const db = await createTestDatabase('sqlite');
      const app = await build(db);
      try {
        await assert.rejects(async () => {
          await app.register(async (scope) => {
            scope.get(url, async () => 'who may see this?');
          });
          await app.ready();
        }, new RegExp(`route GET ${url} does not declare its access`));
      } finally {
        await app.close().catch(() => {});
        await db.cleanup();
      }
    });
  }

  test('the same route declaring its access starts', async () => {
    const db = await createTestDatabase('sqlite');
    const app = await build(db);
    try {
      await app.register(async (scope) => {
        scope.get('/status', { config: { access: 'public' } }, async () => 'fine');
      });
      await app.ready();
      assert.equal((await app.inject({ method: 'GET', url: '/status' })).body, 'fine');
    } finally {
      await app.close();
      await db.cleanup();
    }
  });
});
