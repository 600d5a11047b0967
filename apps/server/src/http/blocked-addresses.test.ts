import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { TERMINAL_WEBSOCKET_PATH, type Event } from '@twarga/contract';
import { testDatabaseKinds } from '../test-support/databases.js';
import { FakeDriver } from '../test-support/fake-driver.js';
import { createHarness, type Harness } from '../test-support/harness.js';

const BLOCKED = '198.51.100.7';
const OTHER = '198.51.100.8';

/**
 * Control-plane blocks, through the whole app: a block made with the blocks API refuses every
 * request from that address before authentication (API, pages, /health, the terminal websocket)
 * with 403 address_blocked, records soc.request_refused (repeats folded), and leaves every other
 * address alone. Lifting the block lets the address in again.
 */
for (const kind of testDatabaseKinds()) {
  describe(`control-plane blocks (${kind})`, () => {
    let h: Harness;
    let admin: string;
    let alice: { id: number; token: string };
    const from = (remoteAddress: string, url: string, token?: string, headers: Record<string, string> = {}) =>
      h.app.inject({ method: 'GET', url, remoteAddress, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });
    const refusals = async () => {
      const res = await h.request({ method: 'GET', url: '/api/soc/events?code=soc.request_refused', token: admin });
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as Event[];
    };
    const block = async (address: string) => {
      const res = await h.request({ method: 'POST', url: '/api/soc/blocks', token: admin, body: { address, scope: 'control_plane', reason: 'test' } });
      assert.equal(res.statusCode, 201, res.body);
      return res.json().id as number;
    };

    before(async () => {
      h = await createHarness(kind, {}, new FakeDriver());
      admin = await h.adminToken();
      alice = await h.user('alice');
    });
    after(() => h.close());

    test('a blocked address gets 403 address_blocked everywhere, before authentication; another address works', async () => {
      assert.equal((await from(BLOCKED, '/api/auth/me', alice.token)).statusCode, 200, 'not blocked yet');
      const id = await block(BLOCKED);

      for (const url of ['/api/auth/me', '/api/vms', '/health', '/', '/api/no-such-route']) {
        const res = await from(BLOCKED, url, alice.token);
        assert.equal(res.statusCode, 403, `${url}: ${res.body}`);
        const body = res.json();
        assert.equal(body.code, 'address_blocked', url);
        assert.ok(body.request_id, 'the one error body');
      }
      // Without credentials too: the block answers before authentication would (no 401).
      assert.equal((await from(BLOCKED, '/api/auth/me')).json().code, 'address_blocked');
      // IPv4-mapped IPv6 (a server listening on ::) is the same address.
      assert.equal((await from(`::ffff:${BLOCKED}`, '/api/auth/me', alice.token)).statusCode, 403);

      assert.equal((await from(OTHER, '/api/auth/me', alice.token)).statusCode, 200, 'another address is not affected');
      assert.equal((await from(OTHER, '/health')).statusCode, 200);

      // Recorded as a security event, repeats folded into one row. The refusal does not wait for
      // its event (a blocked address must not hold the server's database): read once all 7 landed.
      let rows = await refusals();
      for (const deadline = Date.now() + 5000; rows[0]?.count !== 7 && Date.now() < deadline; rows = await refusals()) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(rows.length, 1, JSON.stringify(rows));
      assert.equal(rows[0]!.source_ip, BLOCKED);
      assert.equal(rows[0]!.type, 'security');
      assert.equal(rows[0]!.count, 7);

      const lift = await h.request({ method: 'DELETE', url: `/api/soc/blocks/${id}`, token: admin });
      assert.equal(lift.statusCode, 204, lift.body);
      assert.equal((await from(BLOCKED, '/api/auth/me', alice.token)).statusCode, 200, 'lifted: in again');
    });

    test('behind a trusted proxy the client address (X-Forwarded-For) is what is judged', async () => {
      const proxied = await createHarness(kind, { trustProxy: true }, new FakeDriver());
      try {
        const token = await proxied.adminToken();
        const res = await proxied.request({ method: 'POST', url: '/api/soc/blocks', token, body: { address: BLOCKED, scope: 'control_plane' } });
        assert.equal(res.statusCode, 201, res.body);
        const via = (client: string) =>
          proxied.app.inject({ method: 'GET', url: '/api/auth/me', remoteAddress: '127.0.0.1', headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': client } });
        assert.equal((await via(BLOCKED)).json().code, 'address_blocked');
        assert.equal((await via(OTHER)).statusCode, 200);
      } finally {
        await proxied.close();
      }
    });

    test('the terminal websocket from a blocked address is refused at the upgrade', async () => {
      // A real listener on loopback behind a trusted proxy: the client's address is the
      // X-Forwarded-For one (loopback itself may not be blocked on the control plane).
      const proxied = await createHarness(kind, { trustProxy: true }, new FakeDriver());
      try {
        const token = await proxied.adminToken();
        const res = await proxied.request({ method: 'POST', url: '/api/soc/blocks', token, body: { address: BLOCKED, scope: 'control_plane' } });
        assert.equal(res.statusCode, 201, res.body);
        await proxied.app.listen({ host: '127.0.0.1', port: 0 });
        const port = (proxied.app.server.address() as AddressInfo).port;
        const attempt = (client: string) =>
          new Promise<{ status?: number; opened: boolean }>((resolve) => {
            const ws = new WebSocket(`ws://127.0.0.1:${port}${TERMINAL_WEBSOCKET_PATH}`, { headers: { origin: `http://127.0.0.1:${port}`, 'x-forwarded-for': client } });
            ws.on('unexpected-response', (_req, r) => {
              resolve({ status: r.statusCode, opened: false });
              ws.terminate();
            });
            ws.on('open', () => {
              resolve({ opened: true });
              ws.close();
            });
            ws.on('error', () => resolve({ opened: false }));
          });
        assert.deepEqual(await attempt(BLOCKED), { status: 403, opened: false });
        assert.deepEqual(await attempt(OTHER), { opened: true }, 'another address gets the websocket (and then asks for a ticket)');
      } finally {
        // A refused upgrade whose socket stayed open made this close hang.
        await proxied.close();
      }
    });
  });
}
