import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createHarness, type Harness } from '../test-support/harness.js';

describe('errors, health and the API document', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness('sqlite');
  });
  after(() => h.close());

  test('an unknown route is a 404 with the documented body and the request id header', async () => {
    const res = await h.request({ method: 'GET', url: '/api/nope' });
    assert.equal(res.statusCode, 404);
    const body = res.json();
    assert.equal(body.code, 'not_found');
    assert.equal(body.request_id, res.headers['x-request-id']);
  });

  test('malformed JSON is a 400, not a 500', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/api/auth/login', headers: { 'content-type': 'application/json' }, payload: '{"username":' });
    assert.equal(res.statusCode, 400);
    const body = res.json();
    assert.deepEqual(Object.keys(body).sort(), ['code', 'message', 'request_id'], 'the one documented error body');
    assert.equal(body.code, 'validation_failed');
    assert.match(body.message, /JSON/i, 'says what was wrong');
    assert.equal(body.request_id, res.headers['x-request-id']);
  });

  test('an oversized body is a 413 payload_too_large', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/api/auth/login', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ username: 'x'.repeat(2 * 1024 * 1024), password: 'y' }) });
    assert.equal(res.statusCode, 413);
    assert.equal(res.json().code, 'payload_too_large');
  });

  test('a 500 never leaks internals', async () => {
    const h2 = await createHarness('sqlite');
    try {
      // A fault below the services: the database goes away under a running server.
      await h2.db.handle.close();
      const res = await h2.request({ method: 'POST', url: '/api/auth/register', body: { username: 'zed', email: 'zed@example.com', password: 'correct horse battery' } });
      assert.equal(res.statusCode, 500);
      assert.deepEqual(Object.keys(res.json()).sort(), ['code', 'message', 'request_id']);
      assert.equal(res.json().code, 'internal_error');
      assert.equal(res.json().message, 'Internal server error');
      assert.doesNotMatch(res.body, /sqlite|database|stack|at /i);
    } finally {
      await h2.app.close();
    }
  });

  test('GET /health reports the database check', async () => {
    const res = await h.request({ method: 'GET', url: '/health' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().status, 'healthy');
    assert.equal(res.json().database, 'ok');
  });

  test('/api/openapi.json is an OpenAPI 3 document listing the API, and /api/docs serves the explorer', async () => {
    const doc = (await h.request({ method: 'GET', url: '/api/openapi.json' })).json();
    assert.match(doc.openapi, /^3\./);
    for (const p of ['/api/auth/register', '/api/auth/login', '/api/account/tokens', '/api/account/keys', '/api/admin/users']) {
      assert.ok(doc.paths[p], `${p} documented`);
    }
    assert.ok(doc.paths['/api/auth/register'].post.responses['400'] || doc.paths['/api/auth/register'].post.responses['4XX']);
    const ui = await h.request({ method: 'GET', url: '/api/docs' });
    assert.ok([200, 302].includes(ui.statusCode));
  });
});
