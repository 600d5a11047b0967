import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SESSION_COOKIE } from '@twarga/contract';
import { testDatabaseKinds } from '../../apps/server/src/test-support/databases.js';
import { createHarness, PASSWORD, type Harness } from '../../apps/server/src/test-support/harness.js';
import { TerminalClient } from '../support/terminal.js';
import { SerialFakeDriver } from './live-clients.js';

/** The owner's objects, by the name the route table's parameters refer to them. */
interface Fixtures {
  ownerId: number;
  vmId: number;
  keyId: number;
  tokenId: number;
  actionId: number;
  liveSessionId: number;
  recordedSessionId: number;
  hostId: number;
  channelId: number;
  policyId: number;
  /** An event of the owner's (the SOC's event detail). */
  eventId: number;
  /** An incident about the owner's VM, and a block the owner made on it. */
  incidentId: number;
  blockId: number;
  /** A snapshot of the owner's VM. */
  snapshotId: number;
  /** The owner's key's SHA256 fingerprint (DO clients name keys by fingerprint too). */
  keyFingerprint: string;
}

type Method = 'GET' | 'HEAD' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/**
 * How to fill each parameterised route with an object of the first user, and a valid body (so
 * the request gets past validation to the ownership check). Keyed by the route's URL; every
 * method of it uses the entry. A new parameterised route without an entry fails the test below.
 * `exempt` names routes whose parameter is not anybody's object, with the reason.
 */
const FIXTURES: Record<string, { params: (f: Fixtures) => string[]; body?: Partial<Record<Method, unknown>> } | { exempt: string }> = {
  '/api/vms/:id': { params: (f) => [String(f.vmId)] },
  '/api/vms/:id/action': { params: (f) => [String(f.vmId)], body: { POST: { action: 'stop' } } },
  '/api/vms/:id/actions': { params: (f) => [String(f.vmId)] },
  '/api/vms/:id/stats': { params: (f) => [String(f.vmId)] },
  '/api/vms/:id/status': { params: (f) => [String(f.vmId)] },
  '/api/vms/:id/snapshots': { params: (f) => [String(f.vmId)], body: { POST: { name: 'taken-over' } } },
  '/api/snapshots/:id': { params: (f) => [String(f.snapshotId)] },
  '/api/actions/:id': { params: (f) => [String(f.actionId)] },
  '/api/actions/:id/log': { params: (f) => [String(f.actionId)] },
  '/api/account/keys/:id': { params: (f) => [String(f.keyId)] },
  '/api/account/tokens/:id': { params: (f) => [String(f.tokenId)] },
  '/api/terminal/start/:vm_id': { params: (f) => [String(f.vmId)], body: { POST: { kind: 'serial' } } },
  '/api/terminal/stop/:vm_id': { params: (f) => [String(f.vmId)] },
  '/api/terminal/session/:vm_id': { params: (f) => [String(f.vmId)] },
  '/api/terminal/sessions/:id': { params: (f) => [String(f.liveSessionId)] },
  '/api/terminal/recordings/:id': { params: (f) => [String(f.recordedSessionId)] },
  '/api/admin/users/:id': { params: (f) => [String(f.ownerId)], body: { PATCH: { is_active: false } } },
  '/api/admin/users/:id/credits': { params: (f) => [String(f.ownerId)], body: { POST: { amount: 1000, reason: 'matrix' } } },
  '/api/admin/users/:id/quota': { params: (f) => [String(f.ownerId)], body: { PATCH: { max_vms: 3 } } },
  '/api/admin/users/:id/emergency-stop': { params: (f) => [String(f.ownerId)], body: { POST: {} } },
  '/api/admin/users/:id/ledger': { params: (f) => [String(f.ownerId)] },
  '/api/admin/vms/:id/action': { params: (f) => [String(f.vmId)], body: { POST: { action: 'stop' } } },
  '/api/admin/vms/:id/migrate': { params: (f) => [String(f.vmId)], body: { POST: { host: 1 } } },
  '/api/admin/hosts/:id': { params: (f) => [String(f.hostId)], body: { PATCH: { enabled: false } } },
  '/api/admin/images/:slug': { params: () => ['tiny'] },
  '/api/metrics/vm/:id': { params: (f) => [String(f.vmId)] },
  '/api/metrics/vm/:id/history': { params: (f) => [String(f.vmId)] },
  '/api/admin/images/:slug/download': { params: () => ['tiny'] },
  '/api/admin/images/:slug/build': { params: () => ['tiny'] },
  '/api/notifications/channels/:id': { params: (f) => [String(f.channelId)], body: { PATCH: { name: 'taken over' } } },
  '/api/notifications/channels/:id/test': { params: (f) => [String(f.channelId)] },
  '/api/notifications/channels/:id/rotate-secret': { params: (f) => [String(f.channelId)] },
  '/api/alerts/policies/:id': { params: (f) => [String(f.policyId)], body: { PATCH: { value: 1, enabled: false } } },
  '/api/soc/events/:id': { params: (f) => [String(f.eventId)] },
  '/api/soc/incidents/:id': { params: (f) => [String(f.incidentId)] },
  '/api/soc/incidents/:id/actions': { params: (f) => [String(f.incidentId)], body: { POST: { status: 'resolved', comment: 'taken over' } } },
  '/api/soc/incidents/:id/block': { params: (f) => [String(f.incidentId)], body: { POST: { scope: 'vm', duration_seconds: 600 } } },
  '/api/soc/rules/:id': { params: () => ['ssh_brute_force'], body: { PATCH: { enabled: false } } },
  '/api/soc/blocks/:id': { params: (f) => [String(f.blockId)] },
  // Pages: the same app shell for everyone; the data comes from the API routes above.
  '/vms/*': { params: (f) => [String(f.vmId), `${f.vmId}/terminal`] },
  '/admin/*': { params: (f) => [`users/${f.ownerId}`] },
  '/monitor/*': { params: () => ['policies', 'channels'] },
  '/billing/*': { params: () => ['statement/2026-11'] },
  '/*': { params: (f) => [`vms/${f.vmId}`, `terminals/${f.liveSessionId}`] },
  '/api/docs/static/*': { exempt: 'public files of the API documentation, nobody’s objects' },
  // The DigitalOcean-compatible API: the same objects under DO's names (a value per parameter, '|'-separated).
  '/v2/droplets/:id': { params: (f) => [String(f.vmId)] },
  '/v2/droplets/:id/actions': { params: (f) => [String(f.vmId)], body: { POST: { type: 'power_off' } } },
  '/v2/droplets/:id/actions/:action_id': { params: (f) => [`${f.vmId}|${f.actionId}`] },
  '/v2/actions/:id': { params: (f) => [String(f.actionId)] },
  '/v2/account/keys/:ref': { params: (f) => [String(f.keyId), encodeURIComponent(f.keyFingerprint)], body: { PUT: { name: 'taken over' } } },
  '/v2/images/:ref': { exempt: 'the image catalog, the same for every user' },
  '/v2/monitoring/metrics/droplet/:metric': { params: (f) => [`memory_total?host_id=${f.vmId}&start=${Math.floor(Date.now() / 1000) - 3600}&end=${Math.floor(Date.now() / 1000)}`] },
  '/v2/monitoring/alerts/:uuid': {
    params: (f) => [String(f.policyId)],
    body: { PUT: { type: 'v1/insights/droplet/cpu', description: 'taken over', compare: 'GreaterThan', value: 50, window: '5m', entities: [], tags: [], alerts: { email: [], slack: [] }, enabled: true } },
  },
};

/** The route with its parameters filled in order ('|' separates the values of a route with several). */
const concrete = (url: string, value: string) => value.split('|').reduce((u, v) => u.replace(/:[a-z_]+|\*/, v), url);

/** An OpenSSH ed25519 public key line, made in-process. */
function sshPublicKey(comment: string): string {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const field = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  return `ssh-ed25519 ${Buffer.concat([field(Buffer.from('ssh-ed25519')), field(raw)]).toString('base64')} ${comment}`;
}

/**
 * A second, ordinary user tries every parameterised route of the route table on the first
 * user's objects, with a session (bearer and cookie), a read-only and a read-write API token:
 * always 403 or 404, never a byte of the owner's data, and nothing of the owner's changes.
 */
for (const kind of testDatabaseKinds()) {
  describe(`cross-user access matrix from the route table (${kind})`, () => {
    let h: Harness;
    let base: string;
    let webDir: string;
    let f: Fixtures;
    let owner: { id: number; token: string };
    let liveTerminal: TerminalClient;
    let markers: string[];
    let callers: { label: string; token?: string; cookies?: Record<string, string>; readOnly: boolean }[];
    const tag = randomBytes(4).toString('hex');

    before(async () => {
      webDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-web-'));
      writeFileSync(path.join(webDir, 'index.html'), '<!doctype html><title>Twarga Cloud</title><div id="root"></div>');
      h = await createHarness(kind, { webDir, sshPortRange: '25700-25799', terminalMaxSessionsPerUser: 50 }, new SerialFakeDriver());
      await h.app.listen({ port: 0, host: '127.0.0.1' });
      base = `http://127.0.0.1:${(h.app.server.address() as { port: number }).port}`;
      const ownerName = `owner${tag}`;
      owner = await h.user(ownerName);
      const call = async (method: Method, url: string, body?: unknown, status = 200) => {
        const res = await h.request({ method, url, token: owner.token, body });
        assert.equal(res.statusCode, status, `${method} ${url}: ${res.body}`);
        return res.json();
      };
      const vm = await call('POST', '/api/vms', { name: `vm-${tag}`, image: 'tiny' }, 201);
      await h.services.ops.idle();
      await call('POST', `/api/vms/${vm.id}/snapshots`, { name: `snap-${tag}` }, 202);
      await h.services.ops.idle();
      const snapshotId = ((await call('GET', '/api/snapshots')) as { snapshots: { id: number }[] }).snapshots[0]!.id;
      const key = await call('POST', '/api/account/keys', { name: `key-${tag}`, public_key: sshPublicKey(`laptop-${tag}`) }, 201);
      const token = await call('POST', '/api/account/tokens', { name: `token-${tag}`, scope: 'read-write' }, 201);
      const actions = await call('GET', `/api/vms/${vm.id}/actions`);
      // A session that ended (its recording holds what the terminal printed) and one still live.
      const open = async () => {
        const { ticket } = await call('POST', `/api/terminal/start/${vm.id}`, { kind: 'serial' }, 201);
        const t = await TerminalClient.connect(base, ticket);
        return { t, ready: await t.ready() };
      };
      const recorded = await open();
      recorded.t.type(`secret-output-${tag}`);
      await recorded.t.until('echo', () => recorded.t.output.includes(`secret-output-${tag}`), 5_000);
      recorded.t.close();
      await recorded.t.closed();
      await h.services.terminal.settled();
      const live = await open();
      liveTerminal = live.t;
      const hosts = (await h.request({ method: 'GET', url: '/api/admin/hosts', token: await h.adminToken() })).json();
      const channel = await call('POST', '/api/notifications/channels', { kind: 'email', name: `chan-${tag}`, email: `notify-${tag}@example.com` }, 201);
      f = { ownerId: owner.id, vmId: vm.id, keyId: key.id, tokenId: token.id, actionId: actions[0].id, liveSessionId: live.ready.session_id, recordedSessionId: recorded.ready.session_id, hostId: hosts[0].id, channelId: channel.id, policyId: 0, eventId: 0, incidentId: 0, blockId: 0, snapshotId, keyFingerprint: key.fingerprint };
      f.policyId = (await call('POST', '/api/alerts/policies', { entity: 'vm', metric: 'cpu_percent', compare: 'GreaterThan', value: 90, vm_ids: [vm.id], channel_ids: [channel.id], description: `policy-${tag}` }, 201)).id;
      // The owner's newest SOC event (their VM's creation, their sign-in...).
      f.eventId = ((await call('GET', '/api/soc/events?limit=1')) as { id: number }[])[0]!.id;
      // An SSH brute force on the owner's VM (as the syslog ingest records it): an incident of theirs; and a block they made.
      for (let i = 0; i < 5; i++) {
        await h.services.events.record({ type: 'security', severity: 'warning', action: 'ssh.login_failed', message: 'Failed password for root', userId: owner.id, vmId: vm.id, sourceIp: '198.51.100.77', details: { user: 'root', client_port: 50000 + i } });
      }
      await h.services.soc.detection.engine.idle();
      f.incidentId = ((await call('GET', '/api/soc/incidents')) as { id: number; rule_id: string }[]).find((i) => i.rule_id === 'ssh_brute_force')!.id;
      f.blockId = (await call('POST', '/api/soc/blocks', { address: '198.51.100.78', scope: 'vm', vm_id: vm.id, reason: `block-${tag}` }, 201)).id;
      // Anything of these in an answer to the other user is a leak.
      markers = [ownerName, `${ownerName}@example.com`, `vm-${tag}`, `key-${tag}`, `laptop-${tag}`, key.fingerprint, `token-${tag}`, `secret-output-${tag}`, `chan-${tag}`, `notify-${tag}`, `policy-${tag}`, '198.51.100.77', `block-${tag}`, `snap-${tag}`].filter(Boolean);

      const other = await h.user(`other${tag}`);
      const mk = async (scope: string) => (await h.request({ method: 'POST', url: '/api/account/tokens', token: other.token, body: { name: scope, scope } })).json().token as string;
      const login = await h.request({ method: 'POST', url: '/api/auth/login', body: { username: `other${tag}`, password: PASSWORD, cookie: true } });
      const cookie = login.cookies.find((c) => c.name === SESSION_COOKIE)!.value;
      callers = [
        { label: 'session', token: other.token, readOnly: false },
        { label: 'session cookie (with its CSRF token)', cookies: { [SESSION_COOKIE]: cookie }, readOnly: false, ...{ csrf: login.json().csrf_token } },
        { label: 'read token', token: await mk('read'), readOnly: true },
        { label: 'read-write token', token: await mk('read-write'), readOnly: false },
      ];
    });
    after(async () => {
      liveTerminal?.close();
      await h.close();
      rmSync(webDir, { recursive: true, force: true });
    });

    const parameterised = () => h.routes.filter((r) => /[:*]/.test(r.url));

    test('every parameterised route has a fixture (a new route must be added to the matrix)', () => {
      assert.ok(parameterised().length >= 20, `found ${parameterised().length}`);
      const missing = [...new Set(parameterised().map((r) => r.url))].filter((u) => !FIXTURES[u]);
      assert.deepEqual(missing, [], `parameterised routes with no entry in FIXTURES: ${missing.join(', ')}`);
    });

    test("another user's session, cookie, read and read-write tokens: 403/404 and none of the owner's data", async () => {
      let checked = 0;
      for (const route of parameterised()) {
        const fixture = FIXTURES[route.url];
        if (!fixture || 'exempt' in fixture) continue;
        const method = route.method as Method;
        const isApi = /^\/(api|v2)\//.test(route.url);
        for (const value of fixture.params(f)) {
          const url = concrete(route.url, value);
          for (const c of callers) {
            const csrf = (c as { csrf?: string }).csrf;
            const res = await h.app.inject({
              method,
              url,
              headers: { ...(c.token ? { authorization: `Bearer ${c.token}` } : {}), ...(csrf ? { 'x-csrf-token': csrf } : {}) },
              cookies: c.cookies,
              ...(fixture.body?.[method] !== undefined ? { payload: fixture.body[method] as object } : {}),
            });
            const what = `${c.label}: ${method} ${url} → ${res.statusCode} ${res.body.slice(0, 200)}`;
            if (isApi) assert.ok([403, 404].includes(res.statusCode), what);
            else assert.ok(res.statusCode < 500, what);
            // /api's error body has a code, /v2's (DigitalOcean's) an id.
            if (isApi && method !== 'HEAD') assert.ok((res.json().code ?? res.json().id) && res.json().request_id, `one error body: ${what}`);
            for (const m of markers) assert.ok(!res.body.includes(m), `leaks "${m}": ${what}`);
            checked++;
          }
        }
      }
      assert.ok(checked >= 80, `checked ${checked} requests`);
    });

    test('every admin route of the route table: 403 for a plain user\'s session, cookie, read and read-write tokens, and nothing changes', async () => {
      const adminRoutes = h.routes.filter((r) => r.access === 'admin' && r.url.startsWith('/api/') && r.method !== 'HEAD');
      assert.ok(adminRoutes.length >= 20, `found ${adminRoutes.length} admin routes`);
      const auditBefore = (await h.request({ method: 'GET', url: '/api/admin/audit?limit=1', token: await h.adminToken() })).json().entries[0]?.id ?? 0;
      let checked = 0;
      for (const route of adminRoutes) {
        const fixture = FIXTURES[route.url];
        const method = route.method as Method;
        const url = fixture && 'params' in fixture ? concrete(route.url, fixture.params(f)[0]!) : route.url;
        const body = fixture && 'params' in fixture ? fixture.body?.[method] : method === 'GET' || method === 'DELETE' ? undefined : {};
        for (const c of callers) {
          const csrf = (c as { csrf?: string }).csrf;
          const res = await h.app.inject({
            method, url,
            headers: { ...(c.token ? { authorization: `Bearer ${c.token}` } : {}), ...(csrf ? { 'x-csrf-token': csrf } : {}) },
            cookies: c.cookies,
            ...(body !== undefined ? { payload: body as object } : {}),
          });
          const what = `${c.label}: ${method} ${url} → ${res.statusCode} ${res.body.slice(0, 200)}`;
          assert.equal(res.statusCode, 403, what);
          assert.equal(res.json().code, 'forbidden', what);
          for (const m of markers) assert.ok(!res.body.includes(m), `leaks "${m}": ${what}`);
          checked++;
        }
      }
      assert.equal(checked, adminRoutes.length * callers.length);
      const after = (await h.request({ method: 'GET', url: '/api/admin/audit?limit=50', token: await h.adminToken() })).json().entries as { id: number }[];
      assert.deepEqual(after.filter((e) => e.id > auditBefore), [], 'a refused attempt is no admin action (it is an access.denied event)');
    });

    test("GET /metrics (every VM's name and owner): 403 for another user's session, cookie and tokens, and none of the owner's data", async () => {
      await h.services.collector.pass();
      for (const c of callers) {
        const res = await h.app.inject({ method: 'GET', url: '/metrics', headers: c.token ? { authorization: `Bearer ${c.token}` } : {}, cookies: c.cookies });
        assert.equal(res.statusCode, 403, `${c.label}: ${res.body.slice(0, 200)}`);
        for (const m of markers) assert.ok(!res.body.includes(m), `leaks "${m}" to ${c.label}`);
      }
      const asAdmin = await h.request({ method: 'GET', url: '/metrics', token: await h.adminToken() });
      assert.ok(asAdmin.body.includes(`vm="vm-${tag}"`), 'the admin sees the VM: the check above is not vacuous');
    });

    test("the SOC's event list, search, statistics and export: none of the owner's events for another user", async () => {
      const urls = ['/api/soc/events?limit=500', `/api/soc/events?limit=500&user_id=${f.ownerId}`, `/api/soc/events?vm_id=${f.vmId}`, `/api/soc/events?q=vm-${tag}`, '/api/soc/events/export?format=csv', '/api/soc/events/export?format=json', '/api/soc/statistics'];
      for (const url of urls) {
        for (const c of callers) {
          const res = await h.app.inject({ method: 'GET', url, headers: c.token ? { authorization: `Bearer ${c.token}` } : {}, cookies: c.cookies });
          assert.equal(res.statusCode, 200, `${c.label}: ${url} ${res.body.slice(0, 200)}`);
          for (const m of markers) assert.ok(!res.body.includes(m), `leaks "${m}" to ${c.label}: ${url}`);
        }
      }
      const asAdmin = await h.request({ method: 'GET', url: `/api/soc/events?limit=500&q=vm-${tag}`, token: await h.adminToken() });
      assert.ok(asAdmin.body.includes(`vm-${tag}`), 'the admin sees the owner’s events: the check above is not vacuous');
    });

    test("nothing of the owner's changed: VM, key, token, live terminal, recording, account", async () => {
      const as = (url: string) => h.request({ method: 'GET', url, token: owner.token });
      const vm = (await as(`/api/vms/${f.vmId}`)).json();
      assert.equal(vm.status, 'running');
      assert.equal(vm.locked, false);
      assert.equal((await as(`/api/account/keys/${f.keyId}`)).statusCode, 200);
      const channel = (await as(`/api/notifications/channels/${f.channelId}`)).json();
      assert.deepEqual([channel.name, channel.enabled], [`chan-${tag}`, true]);
      const policy = (await as(`/api/alerts/policies/${f.policyId}`)).json();
      assert.deepEqual([policy.value, policy.enabled, policy.description], [90, true, `policy-${tag}`]);
      assert.deepEqual((await as(`/api/notifications/deliveries?channel_id=${f.channelId}`)).json(), [], 'no test was sent to it');
      const tokens = (await as('/api/account/tokens')).json() as { id: number; revoked_at?: string | null }[];
      assert.ok(tokens.some((t) => t.id === f.tokenId && !t.revoked_at));
      assert.equal(liveTerminal.closeCode, undefined, 'the live terminal is still open');
      liveTerminal.type(`after-${tag}`);
      await liveTerminal.until('echo', () => liveTerminal.output.includes(`after-${tag}`), 5_000);
      assert.equal((await as(`/api/terminal/recordings/${f.recordedSessionId}`)).statusCode, 200);
      const me = (await as('/api/auth/me')).json();
      assert.equal(me.is_active, true);
      assert.equal(me.credits, (await h.request({ method: 'GET', url: '/api/account/ledger', token: owner.token })).json().reduce((s: number, e: { amount: number }) => s + e.amount, 0));
      assert.equal(await h.services.terminal.tickets.pending(owner.id), 0);
      const incident = (await as(`/api/soc/incidents/${f.incidentId}`)).json();
      assert.deepEqual([incident.status, incident.history.map((e: { action: string }) => e.action)], ['open', ['opened', 'blocked']], 'nobody else acted on it or blocked from it');
      const rules = (await as('/api/soc/rules')).json() as { id: string; enabled: boolean }[];
      assert.equal(rules.find((r) => r.id === 'ssh_brute_force')!.enabled, true);
      const blocks = (await as('/api/soc/blocks?active=true')).json() as { id: number }[];
      assert.ok(blocks.some((b) => b.id === f.blockId), 'the block is still active');
    });
  });
}
