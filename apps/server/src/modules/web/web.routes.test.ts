import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createHarness, PASSWORD, type Harness } from '../../test-support/harness.js';

describe('every HTML response carries a Content-Security-Policy', () => {
  let h: Harness;
  let webDir: string;
  let cookies: Record<string, string>;
  before(async () => {
    webDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-web-'));
    writeFileSync(path.join(webDir, 'index.html'), `<!doctype html><title>Twarga Cloud</title><script>document.title='x'</script>`);
    writeFileSync(path.join(webDir, 'stray.html'), `<!doctype html><title>left over</title><script>alert(1)</script>`);
    mkdirSync(path.join(webDir, 'assets'));
    writeFileSync(path.join(webDir, 'assets', 'app.js'), 'console.log(1)');
    h = await createHarness('sqlite', { webDir });
    await h.user('viewer');
    const login = await h.request({ method: 'POST', url: '/api/auth/login', body: { username: 'viewer', password: PASSWORD, cookie: true } });
    cookies = Object.fromEntries(login.cookies.map((c) => [c.name, c.value]));
  });
  after(async () => {
    await h.close();
    rmSync(webDir, { recursive: true, force: true });
  });

  test('/index.html is not served around the page policy and the session check: it points at /', async () => {
    for (const c of [undefined, cookies]) {
      const res = await h.request({ method: 'GET', url: '/index.html', cookies: c });
      assert.equal(res.statusCode, 301, res.body);
      assert.equal(res.headers.location, '/');
      assert.doesNotMatch(res.body, /<script>/, 'never the page without its policy');
    }
  });

  test('any other HTML file gets the strict policy (no script at all); other files are left alone', async () => {
    const stray = await h.request({ method: 'GET', url: '/stray.html' });
    assert.equal(stray.statusCode, 200);
    assert.match(String(stray.headers['content-type']), /text\/html/);
    assert.match(String(stray.headers['content-security-policy']), /default-src 'none'/);
    const js = await h.request({ method: 'GET', url: '/assets/app.js' });
    assert.equal(js.statusCode, 200);
    assert.equal(js.headers['content-security-policy'], undefined);
  });

  test('the app pages keep their own policy (the inline script allowed by its hash)', async () => {
    for (const url of ['/login', '/vms']) {
      const res = await h.request({ method: 'GET', url, cookies });
      assert.equal(res.statusCode, 200, url);
      assert.match(String(res.headers['content-security-policy']), /script-src 'self' 'wasm-unsafe-eval' 'sha256-/, url);
    }
  });

  test("the monitoring and billing sub-pages are pages of the app: signed in they load it, signed out they lead to the login", async () => {
    for (const url of ['/monitor/policies', '/monitor/channels', '/billing', '/billing/statement/2026-11']) {
      const res = await h.request({ method: 'GET', url, cookies });
      assert.equal(res.statusCode, 200, url);
      assert.match(String(res.headers['content-security-policy']), /script-src 'self'/, url);
      const anon = await h.request({ method: 'GET', url });
      assert.equal(anon.statusCode, 302, url);
      assert.equal(anon.headers.location, `/login?next=${encodeURIComponent(url)}`);
    }
  });
});
