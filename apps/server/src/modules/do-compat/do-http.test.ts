import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createHarness, type Harness } from '../../test-support/harness.js';

/** DO's request budget and error shape, which every /v2 route shares (the SQL is not involved: SQLite only). */
describe('DO /v2 rate limit and errors', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness('sqlite', { doRateLimitPerHour: 3 });
  });
  after(() => h.close());

  test('the hourly budget is per user and spans /v2 and /v1; over it: 429 too_many_requests with RateLimit headers, other users unaffected, /api untouched', async () => {
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    const get = (url: string, token: string) => h.request({ method: 'GET', url, token });
    assert.equal((await get('/v2/droplets', alice.token)).statusCode, 200);
    assert.equal((await get('/v2/sizes', alice.token)).statusCode, 200);
    assert.equal((await get('/v1/oauth/token/info', alice.token)).statusCode, 200);
    const over = await get('/v2/regions', alice.token);
    assert.equal(over.statusCode, 429, over.body);
    const body = over.json();
    assert.equal(body.id, 'too_many_requests');
    assert.match(body.message, /try again/i);
    assert.equal(typeof body.request_id, 'string');
    assert.equal(over.headers['ratelimit-limit'], '3');
    assert.equal(over.headers['ratelimit-remaining'], '0');
    assert.ok(Number(over.headers['ratelimit-reset']) > Date.now() / 1000 + 3000, 'resets within the hour, as a Unix time');
    assert.equal((await get('/v2/droplets', bob.token)).statusCode, 200, 'another user has a budget of their own');
    assert.equal((await get('/api/vms', alice.token)).statusCode, 200, '/api has no such budget');
  });

  test('unknown /v2 paths and malformed JSON answer in DO\'s error shape', async () => {
    const carol = await h.user('carol');
    const missing = await h.request({ method: 'GET', url: '/v2/floating_ips', token: carol.token });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().id, 'not_found');
    const bad = await h.request({ method: 'POST', url: '/v2/account/keys', token: carol.token, headers: { 'content-type': 'application/json' }, body: '{"name":' });
    assert.equal(bad.statusCode, 400, bad.body);
    assert.equal(bad.json().id, 'bad_request');
  });
});
