import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { EMERGENCY_STOP_ALL_PHRASE, type AuditEntry } from '@twarga/contract';
import { testDatabaseKinds } from '../../apps/server/src/test-support/databases.js';
import { FakeDriver } from '../../apps/server/src/test-support/fake-driver.js';
import { createHarness, type Harness } from '../../apps/server/src/test-support/harness.js';

/** The objects the admin acts on, made before the matrix runs. */
interface Fixtures {
  /** A user the admin credits, updates, sets quotas for. */
  userId: number;
  /** A user the admin deletes (last). */
  victimId: number;
  vmId: number;
  hostId: number;
  imageSlug: string;
  /** A block the admin lifts, an incident about the user's VM the admin acts on. */
  blockId: number;
  incidentId: number;
}

type Call = {
  /** The concrete URL (parameters filled in); default: the route's URL. */
  url?: (f: Fixtures) => string;
  /** A valid body, so the request reaches the handler. */
  body?: (f: Fixtures) => unknown;
  /** After every other call (it destroys what others use). */
  late?: boolean;
  /** The action code the route notes (routes that note none get "METHOD url"). */
  action?: string;
};

/**
 * Every admin write in the route table, by "METHOD url", with how to call it. A new admin
 * route without an entry here fails the first test: its audit entry must be proven too.
 * (Entries for routes not registered yet are harmless: they are used when the route appears.)
 */
const CALLS: Record<string, Call> = {
  'PATCH /api/admin/users/:id': { url: (f) => `/api/admin/users/${f.userId}`, body: () => ({ is_active: true }) },
  'POST /api/admin/users/:id/credits': { url: (f) => `/api/admin/users/${f.userId}/credits`, body: () => ({ amount: 500, reason: 'audit matrix' }) },
  'PATCH /api/admin/users/:id/quota': { url: (f) => `/api/admin/users/${f.userId}/quota`, body: () => ({ max_vms: 3 }) },
  'POST /api/admin/users/:id/emergency-stop': { url: (f) => `/api/admin/users/${f.userId}/emergency-stop`, body: () => ({}) },
  'POST /api/admin/users/bulk': { body: (f) => ({ ids: [f.userId], action: 'credit', amount: 5, reason: 'audit matrix bulk' }) },
  'DELETE /api/admin/users/:id': { url: (f) => `/api/admin/users/${f.victimId}`, late: true },
  'POST /api/admin/vms/:id/action': { url: (f) => `/api/admin/vms/${f.vmId}/action`, body: () => ({ action: 'stop' }) },
  // Refused (the VM runs): a refused admin write is audited too, as failed.
  'POST /api/admin/vms/:id/migrate': { action: 'vm.migrated', url: (f) => `/api/admin/vms/${f.vmId}/migrate`, body: (f) => ({ host: f.hostId }) },
  'POST /api/admin/emergency-stop-all': { body: () => ({ confirm: EMERGENCY_STOP_ALL_PHRASE }), late: true },
  'POST /api/admin/hosts': { action: 'host.created', body: () => ({ name: 'matrix-new', driver: 'libvirt', uri: 'qemu+ssh://root@192.0.2.20/system', ram_mb: 2048, vcpus: 4, enabled: false }) },
  'PATCH /api/admin/hosts/:id': { action: 'host.updated', url: (f) => `/api/admin/hosts/${f.hostId}`, body: () => ({ draining: true }) },
  'DELETE /api/admin/hosts/:id': { action: 'host.deleted', url: (f) => `/api/admin/hosts/${f.hostId}`, late: true },
  // Loopback URL: nothing is fetched by registering; the download of the built-in image is refused (409).
  'POST /api/admin/images': { action: 'image.registered', body: () => ({ slug: 'matrix-img', name: 'Matrix', distribution: 'test', version: '1', os_type: 'ubuntu', min_disk: 1, url: 'http://127.0.0.1:9/matrix.img', sha256: 'a'.repeat(64) }) },
  'POST /api/admin/images/:slug/download': { action: 'image.download_started', url: () => '/api/admin/images/tiny/download' },
  // The built-in image is not built here: 409, no build starts, and the attempt is still audited.
  'POST /api/admin/images/:slug/build': { action: 'image.build_started', url: () => '/api/admin/images/tiny/build' },
  'DELETE /api/admin/images/:slug': { action: 'image.deleted', url: (f) => `/api/admin/images/${f.imageSlug}`, late: true },
  'POST /api/metrics/collect': { action: 'POST /api/metrics/collect' },
  'DELETE /api/metrics/cleanup': {},
  'PATCH /api/soc/rules/:id': { action: 'soc.rule_updated', url: () => '/api/soc/rules/ssh_brute_force', body: () => ({ enabled: true }) },
  // User routes audited for admins (config.audit): an admin acting on anyone's object.
  'POST /api/soc/blocks': { action: 'soc.block_created', body: () => ({ address: '198.51.100.9', scope: 'control_plane', duration_seconds: 600, reason: 'audit matrix' }) },
  'DELETE /api/soc/blocks/:id': { action: 'soc.block_lifted', url: (f) => `/api/soc/blocks/${f.blockId}` },
  'POST /api/soc/incidents/:id/actions': { action: 'soc.incident_updated', url: (f) => `/api/soc/incidents/${f.incidentId}/actions`, body: () => ({ status: 'acknowledged', comment: 'audit matrix' }) },
  'POST /api/soc/incidents/:id/block': { action: 'soc.incident_blocked', url: (f) => `/api/soc/incidents/${f.incidentId}/block`, body: () => ({ scope: 'all_vms', duration_seconds: 600 }) },
  'DELETE /api/terminal/sessions/:id': { action: 'terminal.session_ended', url: () => '/api/terminal/sessions/999999' },
};

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

for (const kind of testDatabaseKinds()) {
  describe(`every admin action leaves exactly one audit entry, from the route table (${kind})`, () => {
    let h: Harness;
    let admin: string;
    let adminId: number;
    let f: Fixtures;
    before(async () => {
      h = await createHarness(kind, { sshPortRange: '27510-27549' }, new FakeDriver());
      admin = await h.adminToken();
      adminId = (await h.request({ method: 'GET', url: '/api/auth/me', token: admin })).json().id;
      const user = await h.user('matrixuser');
      const victim = await h.user('matrixvictim');
      const vmId = await h.vm(user, 'matrix-vm');
      const host = await h.request({ method: 'POST', url: '/api/admin/hosts', token: admin, body: { name: 'matrix-spare', driver: 'libvirt', uri: 'qemu+ssh://root@192.0.2.10/system', ram_mb: 4096, vcpus: 8, enabled: false } });
      assert.equal(host.statusCode, 201, host.body);
      const block = await h.request({ method: 'POST', url: '/api/soc/blocks', token: admin, body: { address: '198.51.100.8', scope: 'vm', vm_id: vmId, reason: 'to lift' } });
      assert.equal(block.statusCode, 201, block.body);
      // An SSH brute force on the user's VM (as the syslog ingest records it): an incident.
      for (let i = 0; i < 5; i++) {
        await h.services.events.record({ type: 'security', severity: 'warning', action: 'ssh.login_failed', message: 'Failed password for root', userId: user.id, vmId, sourceIp: '198.51.100.77', details: { user: 'root', client_port: 50000 + i } });
      }
      await h.services.soc.detection.engine.idle();
      const incidents = (await h.request({ method: 'GET', url: '/api/soc/incidents', token: admin })).json() as { id: number; rule_id: string }[];
      const incidentId = incidents.find((i) => i.rule_id === 'ssh_brute_force')!.id;
      f = { userId: user.id, victimId: victim.id, vmId, hostId: host.json().id, imageSlug: 'matrix-img', blockId: block.json().id, incidentId };
    });
    after(() => h.close());

    const adminWrites = () => h.routes.filter((r) => (r.access === 'admin' || r.audit) && !SAFE.has(r.method));
    const entriesAfter = async (id: number) => {
      const res = await h.request({ method: 'GET', url: '/api/admin/audit?limit=50', token: admin });
      assert.equal(res.statusCode, 200, res.body);
      return (res.json().entries as AuditEntry[]).filter((e) => e.id > id);
    };
    const newestId = async () => (await entriesAfter(0))[0]?.id ?? 0;

    test('every admin write in the route table has an entry in CALLS (a new admin route must be added)', () => {
      assert.ok(adminWrites().length >= 10, `found ${adminWrites().length}`);
      const missing = adminWrites().map((r) => `${r.method} ${r.url}`).filter((k) => !CALLS[k]);
      assert.deepEqual(missing, [], `admin routes with no entry in CALLS: ${missing.join(', ')}`);
    });

    test('each call leaves one entry with the admin as actor, its method, path, status and outcome', async () => {
      const routes = [...adminWrites()].sort((a, b) => Number(!!CALLS[`${a.method} ${a.url}`]?.late) - Number(!!CALLS[`${b.method} ${b.url}`]?.late));
      let succeeded = 0;
      for (const r of routes) {
        const call = CALLS[`${r.method} ${r.url}`];
        assert.ok(call, `${r.method} ${r.url} has no entry in CALLS`);
        const url = call.url?.(f) ?? r.url;
        const body = call.body?.(f);
        const before = await newestId();
        const res = await h.request({ method: r.method as 'POST', url, token: admin, ...(body !== undefined ? { body } : {}) });
        const what = `${r.method} ${url} → ${res.statusCode} ${res.body.slice(0, 200)}`;
        assert.ok(res.statusCode < 500, what);
        await h.services.ops.idle();
        const entries = await entriesAfter(before);
        assert.equal(entries.length, 1, `${what}: ${entries.length} audit entries ${JSON.stringify(entries)}`);
        const e = entries[0]!;
        assert.deepEqual(
          { actor_id: e.actor_id, actor_username: e.actor_username, method: e.method, path: e.path, status_code: e.status_code, outcome: e.outcome },
          { actor_id: adminId, actor_username: 'admin', method: r.method, path: url, status_code: res.statusCode, outcome: res.statusCode < 400 ? 'succeeded' : 'failed' },
          what,
        );
        assert.equal(e.action, call.action ?? e.action, what);
        assert.ok(e.action, what);
        if (res.statusCode < 400) succeeded++;
      }
      // The bodies are valid: most calls really did something (not a matrix of 400s).
      assert.ok(succeeded >= Math.ceil(routes.length * 0.6), `${succeeded} of ${routes.length} calls succeeded`);
    });

    test('an admin write refused by validation is one failed entry too; reads leave none', async () => {
      const before = await newestId();
      const bad = await h.request({ method: 'POST', url: `/api/admin/users/${f.userId}/credits`, token: admin, body: { amount: 0 } });
      assert.equal(bad.statusCode, 400);
      for (const r of h.routes.filter((x) => x.access === 'admin' && x.method === 'GET' && !/[:*]/.test(x.url))) {
        await h.request({ method: 'GET', url: r.url, token: admin });
      }
      const entries = await entriesAfter(before);
      assert.deepEqual(entries.map((e) => [e.method, e.status_code, e.outcome]), [['POST', 400, 'failed']]);
    });
  });
}
