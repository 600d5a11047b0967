import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import WebSocket from 'ws';
import { TERMINAL_CLOSE_CODES, TERMINAL_WEBSOCKET_PATH } from '@twarga/contract';
import { createHarness } from '../test-support/harness.js';
import { crossSiteReason, OriginPolicy } from './origin.js';

describe('which origins are this site', () => {
  test('with a public URL, only that origin (normalised) is ours, whatever the Host header says', () => {
    const p = new OriginPolicy({ publicUrl: 'https://Cloud.Example.com:443', host: '127.0.0.1', port: () => 8080 });
    assert.equal(p.allows('https://cloud.example.com'), true);
    assert.equal(p.allows('http://cloud.example.com'), false, 'another scheme is another origin');
    assert.equal(p.allows('https://cloud.example.com:8443'), false);
    assert.equal(p.allows('http://127.0.0.1:8080'), false, 'the listening address is not the public origin');
    assert.equal(p.allows('null'), false);
    assert.equal(p.allows('not a url'), false);
  });

  test('without one, a loopback listener accepts the loopback names on its port only', () => {
    const p = new OriginPolicy({ host: '127.0.0.1', port: () => 8080 });
    for (const o of ['http://127.0.0.1:8080', 'http://localhost:8080', 'http://[::1]:8080', 'https://localhost:8080']) assert.equal(p.allows(o), true, o);
    for (const o of ['http://127.0.0.1:8081', 'http://evil.example:8080', 'http://localhost']) assert.equal(p.allows(o), false, o);
  });

  test('a 0.0.0.0 listener accepts its interface addresses and host name, never an arbitrary DNS name', () => {
    const p = new OriginPolicy({ host: '0.0.0.0', port: () => 80, interfaces: () => ({ addresses: ['127.0.0.1', '192.0.2.7', 'fe80::1'], hostname: 'box' }) });
    for (const o of ['http://192.0.2.7', 'http://box', 'http://localhost', 'http://[fe80::1]']) assert.equal(p.allows(o), true, o);
    for (const o of ['http://0.0.0.0', 'http://rebound.attacker.example', 'http://192.0.2.8']) assert.equal(p.allows(o), false, o);
  });

  test('cross-site and same-site fetches are refused; no headers (curl) or same-origin pass', () => {
    const p = new OriginPolicy({ publicUrl: 'https://cloud.example.com', host: '127.0.0.1', port: () => 8080 });
    assert.equal(crossSiteReason({}, p), undefined);
    assert.equal(crossSiteReason({ origin: 'https://cloud.example.com', 'sec-fetch-site': 'same-origin' }, p), undefined);
    assert.match(crossSiteReason({ 'sec-fetch-site': 'cross-site' }, p)!, /cross-site/);
    assert.match(crossSiteReason({ 'sec-fetch-site': 'same-site' }, p)!, /same-site/);
    assert.match(crossSiteReason({ origin: 'https://evil.example' }, p)!, /evil\.example/);
  });
});

/** Opens the terminal websocket with the given headers and reports how the server closed it. */
async function closeOf(base: string, headers: Record<string, string>): Promise<{ code: number; reason: string }> {
  const ws = new WebSocket(base.replace(/^http/, 'ws') + TERMINAL_WEBSOCKET_PATH, { headers });
  // An accepted socket waits for a ticket: a non-ticket first message makes it close with "auth_required".
  ws.on('open', () => ws.send(JSON.stringify({ type: 'hello' })));
  return new Promise((resolve, reject) => {
    ws.on('error', reject);
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
}

describe('terminal websocket origin check', () => {
  test('compares Origin with the public URL, not with the Host header (DNS rebinding, reverse proxy)', async () => {
    const h = await createHarness('sqlite', { publicUrl: 'https://cloud.example.com' });
    try {
      await h.app.listen({ host: '127.0.0.1', port: 0 });
      const base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
      // A rebound DNS name: Host and Origin agree, and both are the attacker's.
      const rebound = await closeOf(base, { host: 'rebound.attacker.example', origin: 'http://rebound.attacker.example' });
      assert.equal(rebound.code, TERMINAL_CLOSE_CODES.forbiddenOrigin, JSON.stringify(rebound));
      // Behind a TLS proxy: the browser's origin is the public URL, the Host is the backend's.
      const proxied = await closeOf(base, { origin: 'https://cloud.example.com' });
      assert.equal(proxied.reason, 'auth_required', `origin accepted: ${JSON.stringify(proxied)}`);
      const denied = await h.services.events.list({ action: 'terminal.denied' });
      assert.ok(denied.some((e) => (e.details as { reason: string }).reason === 'origin_forbidden'));
    } finally {
      await h.close();
    }
  });

  test('without a public URL, the listening address (with its real port) is the origin', async () => {
    const h = await createHarness('sqlite', { host: '127.0.0.1', port: 0 });
    try {
      await h.app.listen({ host: '127.0.0.1', port: 0 });
      const base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
      assert.equal((await closeOf(base, { origin: base })).reason, 'auth_required');
      assert.equal((await closeOf(base, { origin: 'http://evil.example' })).code, TERMINAL_CLOSE_CODES.forbiddenOrigin);
    } finally {
      await h.close();
    }
  });
});
