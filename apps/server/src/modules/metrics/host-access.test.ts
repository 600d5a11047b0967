import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createHarness, type Harness } from '../../test-support/harness.js';

/** Reads the events stream until a chunk matches, or gives up after timeoutMs. */
async function streamSees(base: string, token: string, pattern: RegExp, timeoutMs: number): Promise<boolean> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    const res = await fetch(`${base}/api/events/stream`, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
    const decoder = new TextDecoder();
    let text = '';
    for await (const chunk of res.body!) {
      text += decoder.decode(chunk as Uint8Array, { stream: true });
      if (pattern.test(text)) return true;
    }
    return false;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

const HOST_SAMPLE = /"kind":"metrics","entity":"host"/;

for (const forUsers of [false, true]) {
  describe(`host metrics ${forUsers ? 'opened to every user (TWARGA_HOST_METRICS_FOR_USERS)' : 'for admins only (default)'}`, () => {
    let h: Harness;
    let base: string;
    let user: string;
    let admin: string;
    before(async () => {
      h = await createHarness('sqlite', { hostMetricsForUsers: forUsers });
      await h.app.listen({ port: 0, host: '127.0.0.1' });
      base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
      user = (await h.user('carol')).token;
      admin = await h.adminToken();
    });
    after(() => h.close());

    test(`a user's GET of the host metrics and history is ${forUsers ? '200' : '403'}`, async () => {
      await h.request({ method: 'POST', url: '/api/metrics/collect', token: admin });
      for (const url of ['/api/metrics/host', '/api/metrics/host/history?metric=cpu_percent']) {
        const res = await h.request({ method: 'GET', url, token: user });
        assert.equal(res.statusCode, forUsers ? 200 : 403, `${url}: ${res.body}`);
      }
    });

    test(`a user's live stream ${forUsers ? 'carries' : 'never carries'} host samples; an admin's always does`, async () => {
      const collectSoon = setInterval(() => void h.services.collector.pass(), 200);
      try {
        const [userSaw, adminSaw] = await Promise.all([streamSees(base, user, HOST_SAMPLE, 2_000), streamSees(base, admin, HOST_SAMPLE, 2_000)]);
        assert.equal(userSaw, forUsers);
        assert.equal(adminSaw, true);
      } finally {
        clearInterval(collectSoon);
      }
    });
  });
}
