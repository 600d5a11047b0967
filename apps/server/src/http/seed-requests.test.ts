import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PassThrough } from 'node:stream';
import { testDatabaseKinds } from '../test-support/databases.js';
import { FakeDriver } from '../test-support/fake-driver.js';
import { ADMIN_PASSWORD, createHarness, type Harness } from '../test-support/harness.js';

/*
 * Every request the seed documents (/work/shared/seeds: 004 "API Documentation", 003 and 002's
 * monitoring routes), sent exactly as the seed sends it: method, path, body or no body, content
 * type, query parameters. Each must succeed with the fields the seed shows. Where our shape
 * differs on purpose (VM actions are asynchronous: 202 and an Action), the test asserts ours and
 * says why. The routes' own rules are tested in their modules; this file pins the seed's calling
 * conventions (no body, form bodies, the seed's query parameter names).
 */

/** The fake driver with a serial port (as QEMU run here has): the seed's terminal is the serial console. */
class SerialFakeDriver extends FakeDriver {
  override info() {
    const info = super.info();
    return { ...info, features: { ...info.features, console: true } };
  }
  async openSerial() {
    return new PassThrough();
  }
  async serialScrollback() {
    return Buffer.alloc(0);
  }
}

const SEED_PASSWORD = 'secure password for the seed';

for (const kind of testDatabaseKinds()) {
  describe(`seed requests work as the seed sends them (${kind})`, () => {
    let h: Harness;
    let admin: string;
    let user: { id: number; token: string };
    let vmId: number;

    before(async () => {
      h = await createHarness(kind, { sshPortRange: '25700-25799' }, new SerialFakeDriver());
      // The seed's os_type ubuntu/focal64 needs an Ubuntu image on the host: as if the admin had downloaded it.
      await h.db.handle.db.updateTable('images').set({ status: 'available', format: 'qcow2' }).where('slug', '=', 'ubuntu-24-04').execute();
    });
    after(() => h.close());

    /** A request as a seed client sends it: raw payload and only the headers the seed shows. */
    const send = (method: 'GET' | 'POST' | 'DELETE', url: string, opts: { token?: string; contentType?: string; payload?: string } = {}) =>
      h.app.inject({
        method,
        url,
        headers: {
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          ...(opts.contentType ? { 'content-type': opts.contentType } : {}),
        },
        ...(opts.payload !== undefined ? { payload: opts.payload } : {}),
      });
    const json = (method: 'POST', url: string, body: unknown, token?: string) =>
      send(method, url, { token, contentType: 'application/json', payload: JSON.stringify(body) });
    const hasFields = (obj: Record<string, unknown>, fields: string[], what: string) => {
      for (const f of fields) assert.ok(f in obj, `${what}: field ${f} missing in ${JSON.stringify(obj)}`);
    };

    test('POST /api/auth/register (JSON) → 201 with the seed fields', async () => {
      // Differs on purpose: the seed's example password is too easy to guess; ours refuses it clearly.
      const weak = await json('POST', '/api/auth/register', { username: 'newuser', email: 'user@example.com', password: 'securepassword' });
      assert.equal(weak.statusCode, 400, weak.body);
      assert.equal(weak.json().details[0].field, 'password');
      const res = await json('POST', '/api/auth/register', { username: 'newuser', email: 'user@example.com', password: SEED_PASSWORD });
      assert.equal(res.statusCode, 201, res.body);
      const u = res.json();
      hasFields(u, ['id', 'username', 'email', 'is_admin', 'credits'], 'register');
      assert.equal(u.username, 'newuser');
      assert.equal(u.is_admin, false);
      user = { id: u.id, token: '' };
    });

    test('POST /api/auth/login (application/x-www-form-urlencoded) → 200 {access_token, token_type: bearer}', async () => {
      const res = await send('POST', '/api/auth/login', { contentType: 'application/x-www-form-urlencoded', payload: `username=newuser&password=${encodeURIComponent(SEED_PASSWORD)}` });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().token_type, 'bearer');
      assert.ok(res.json().access_token);
      user.token = res.json().access_token;
      const adminRes = await send('POST', '/api/auth/login', { contentType: 'application/x-www-form-urlencoded', payload: `username=admin&password=${encodeURIComponent(ADMIN_PASSWORD)}` });
      assert.equal(adminRes.statusCode, 200, adminRes.body);
      admin = adminRes.json().access_token;
    });

    test('GET /api/admin/users → 200 array with the seed fields', async () => {
      const res = await send('GET', '/api/admin/users', { token: admin });
      assert.equal(res.statusCode, 200, res.body);
      const list = res.json();
      assert.ok(Array.isArray(list) && list.length >= 2);
      for (const u of list) hasFields(u, ['id', 'username', 'email', 'is_admin', 'is_active', 'credits', 'vm_count'], 'admin user');
    });

    test('POST /api/admin/users/{id}/credits {amount, reason} → 200 {user_id, new_balance, adjustment}', async () => {
      const before = (await send('GET', '/api/auth/me', { token: user.token })).json().credits as number;
      const res = await json('POST', `/api/admin/users/${user.id}/credits`, { amount: 500, reason: 'Monthly credit allocation' }, admin);
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json(), { user_id: user.id, new_balance: before + 500, adjustment: 500 });
    });

    test("POST /api/vms {name, os_type 'ubuntu/focal64', ram, cpu, disk} → 201 {id, name, status pending, message}", async () => {
      const res = await json('POST', '/api/vms', { name: 'my-vm', os_type: 'ubuntu/focal64', ram: 2048, cpu: 2, disk: 30 }, user.token);
      assert.equal(res.statusCode, 201, res.body);
      const vm = res.json();
      hasFields(vm, ['id', 'name', 'status', 'message'], 'created VM');
      assert.equal(vm.name, 'my-vm');
      assert.equal(vm.status, 'pending');
      vmId = vm.id;
      await h.services.ops.idle();
    });

    test('POST /api/vms as the seed\'s HTMX form sends it (form-urlencoded, numbers as text) → 201, then destroyed', async () => {
      const res = await send('POST', '/api/vms', { token: user.token, contentType: 'application/x-www-form-urlencoded', payload: 'name=form-vm&os_type=ubuntu%2Ffocal64&ram=1024&cpu=1&disk=10' });
      assert.equal(res.statusCode, 201, res.body);
      assert.deepEqual([res.json().name, res.json().ram, res.json().cpu, res.json().disk], ['form-vm', 1024, 1, 10]);
      await h.services.ops.idle();
      const gone = await json('POST', `/api/vms/${res.json().id}/action`, { action: 'destroy' }, user.token);
      assert.equal(gone.statusCode, 202, gone.body);
      await h.services.ops.idle();
    });

    test('GET /api/vms → 200 array with the seed fields', async () => {
      const res = await send('GET', '/api/vms', { token: user.token });
      assert.equal(res.statusCode, 200, res.body);
      const [vm] = res.json();
      hasFields(vm, ['id', 'name', 'status', 'os_type', 'ram', 'cpu', 'disk', 'ip_address', 'created_at'], 'VM');
      // Differs on purpose (modules/vms): os_type is the image's OS family; ubuntu/focal64 picks the Ubuntu image the host has.
      assert.equal(vm.os_type, 'ubuntu');
      assert.deepEqual([vm.ram, vm.cpu, vm.disk, vm.status], [2048, 2, 30, 'running']);
    });

    test('POST /api/terminal/start/{vm_id} with no body → 201 serial-console ticket', async () => {
      // As curl -X POST / requests.post(url) send it: no body, no content type.
      const res = await send('POST', `/api/terminal/start/${vmId}`, { token: user.token });
      assert.equal(res.statusCode, 201, res.body);
      const t = res.json();
      assert.equal(t.vm_id, vmId);
      assert.equal(t.kind, 'serial');
      assert.ok(t.ticket && t.websocket_path);
      // As a fetch() that sets Content-Type: application/json on every call but sends no body; and as HTMX's hx-post.
      for (const contentType of ['application/json', 'application/json; charset=utf-8', 'application/x-www-form-urlencoded']) {
        const other = await send('POST', `/api/terminal/start/${vmId}`, { token: user.token, contentType, payload: '' });
        assert.equal(other.statusCode, 201, `${contentType}: ${other.body}`);
        assert.equal(other.json().kind, 'serial');
      }
      // The seed's TerminalManager also gets and stops a VM's sessions: ours are these two routes (no body).
      const sessions = await send('GET', `/api/terminal/session/${vmId}`, { token: user.token });
      assert.equal(sessions.statusCode, 200, sessions.body);
      const stop = await send('DELETE', `/api/terminal/stop/${vmId}`, { token: user.token });
      assert.equal(stop.statusCode, 200, stop.body);
      assert.equal(typeof stop.json().ended, 'number');
    });

    test('no body on a route with required fields: a 400 that names each missing field', async () => {
      for (const contentType of [undefined, 'application/json']) {
        const res = await send('POST', `/api/admin/users/${user.id}/credits`, { token: admin, contentType, ...(contentType ? { payload: '' } : {}) });
        assert.equal(res.statusCode, 400, res.body);
        assert.equal(res.json().code, 'validation_failed');
        assert.deepEqual(res.json().details.map((d: { field: string }) => d.field).sort(), ['amount', 'reason']);
      }
      // An explicit body that is not an object is still judged as sent.
      const explicit = await send('POST', `/api/terminal/start/${vmId}`, { token: user.token, contentType: 'application/json', payload: 'null' });
      assert.equal(explicit.statusCode, 400, explicit.body);
      // Bad JSON is still a 400, and the prototype-poisoning guard still holds.
      for (const payload of ['{', '{"__proto__": {"x": 1}}']) {
        const bad = await send('POST', `/api/terminal/start/${vmId}`, { token: user.token, contentType: 'application/json', payload });
        assert.equal(bad.statusCode, 400, `${payload}: ${bad.body}`);
      }
    });

    test('GET /api/metrics/host and /api/metrics/host/history → 200 with the seed fields', async () => {
      const res = await send('GET', '/api/metrics/host', { token: admin });
      assert.equal(res.statusCode, 200, res.body);
      const m = res.json();
      hasFields(m.cpu, ['usage_percent', 'count', 'frequency'], 'host cpu');
      hasFields(m.memory, ['usage_percent', 'used_mb', 'total_mb'], 'host memory');
      hasFields(m.disk, ['usage_percent', 'used_gb', 'total_gb'], 'host disk');
      hasFields(m.network, ['bytes_sent', 'bytes_recv', 'speed_mbps'], 'host network');
    });

    test('POST /api/metrics/collect (no body) and DELETE /api/metrics/cleanup → 200', async () => {
      for (let i = 0; i < 3; i++) {
        if (i) h.clock.advanceMinutes(1);
        const res = await send('POST', '/api/metrics/collect', { token: admin });
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.json().vms, 1);
      }
      // A client that sets Content-Type: application/json on every call, with no body (Fastify said "Body cannot be empty").
      h.clock.advanceMinutes(1);
      const jsonNoBody = await send('POST', '/api/metrics/collect', { token: admin, contentType: 'application/json', payload: '' });
      assert.equal(jsonNoBody.statusCode, 200, jsonNoBody.body);
      const clean = await send('DELETE', '/api/metrics/cleanup', { token: admin });
      assert.equal(clean.statusCode, 200, clean.body);
      hasFields(clean.json(), ['deleted', 'rolled_up'], 'cleanup');
    });

    test('GET /api/metrics/vm/{vm_id} → 200 with the seed fields', async () => {
      const res = await send('GET', `/api/metrics/vm/${vmId}`, { token: user.token });
      assert.equal(res.statusCode, 200, res.body);
      hasFields(res.json(), ['vm_id', 'cpu_usage', 'memory_usage', 'disk_usage', 'uptime', 'ip_address'], 'VM metrics');
      assert.equal(res.json().vm_id, vmId);
    });

    test('GET /api/metrics/host/history (no parameters) → 200, every host metric', async () => {
      const res = await send('GET', '/api/metrics/host/history', { token: admin });
      assert.equal(res.statusCode, 200, res.body);
      const names = res.json().series.map((s: { metric: string }) => s.metric);
      assert.ok(names.includes('cpu_percent') && names.includes('memory_used_bytes') && names.includes('net_rx_bps'), names.join());
      const memory = res.json().series.find((s: { metric: string }) => s.metric === 'memory_used_bytes');
      assert.equal(memory.points.length, 4, 'one point per collection');
    });

    test('GET /api/metrics/vm/{vm_id}/history?metric_name=…&limit=… → 200, the newest limit points of that metric', async () => {
      type Series = { metric: string; points: { t: string }[] }[];
      const all = await send('GET', `/api/metrics/vm/${vmId}/history?metric_name=memory_rss_bytes`, { token: user.token });
      assert.equal(all.statusCode, 200, all.body);
      const allSeries = all.json().series as Series;
      assert.deepEqual(allSeries.map((s) => s.metric), ['memory_rss_bytes']);
      assert.equal(allSeries[0]!.points.length, 4, 'one point per collection');
      const res = await send('GET', `/api/metrics/vm/${vmId}/history?metric_name=memory_rss_bytes&limit=2`, { token: user.token });
      assert.equal(res.statusCode, 200, res.body);
      const series = res.json().series as Series;
      assert.deepEqual(series.map((s) => s.metric), ['memory_rss_bytes']);
      assert.deepEqual(series[0]!.points, allSeries[0]!.points.slice(-2), 'the newest two');
      // metric and metric_name merge; no metric at all is every VM metric.
      const both = (await send('GET', `/api/metrics/vm/${vmId}/history?metric=cpu_percent&metric_name=memory_rss_bytes`, { token: user.token })).json().series as Series;
      assert.deepEqual(both.map((s) => s.metric), ['cpu_percent', 'memory_rss_bytes']);
      const noParams = await send('GET', `/api/metrics/vm/${vmId}/history`, { token: user.token });
      assert.equal(noParams.statusCode, 200, noParams.body);
      assert.ok((noParams.json().series as Series).length >= 10);
      // Names we do not have are still a 400 that lists the valid ones; so is a limit below 1.
      const unknown = await send('GET', `/api/metrics/vm/${vmId}/history?metric_name=vm_memory_used_mb`, { token: user.token });
      assert.equal(unknown.statusCode, 400, unknown.body);
      assert.match(unknown.json().message, /valid metrics are .*memory_rss_bytes/);
      assert.equal((await send('GET', `/api/metrics/vm/${vmId}/history?limit=0`, { token: user.token })).statusCode, 400);
    });

    test('GET /api/metrics/alerts → 200 array', async () => {
      const res = await send('GET', '/api/metrics/alerts', { token: user.token });
      assert.equal(res.statusCode, 200, res.body);
      assert.ok(Array.isArray(res.json()));
    });

    test('GET /api/soc/events?limit=50&severity=warning → 200 array of the seed fields', async () => {
      // A failed login is a warning event, so the filtered list is not empty.
      const failed = await send('POST', '/api/auth/login', { contentType: 'application/x-www-form-urlencoded', payload: 'username=newuser&password=wrong' });
      assert.equal(failed.statusCode, 401, failed.body);
      const res = await send('GET', '/api/soc/events?limit=50&severity=warning', { token: admin });
      assert.equal(res.statusCode, 200, res.body);
      const list = res.json();
      assert.ok(Array.isArray(list) && list.length > 0, res.body);
      for (const e of list) {
        hasFields(e, ['id', 'type', 'severity', 'message', 'timestamp', 'user_id', 'vm_id'], 'event');
        assert.equal(e.severity, 'warning');
      }
      const all = (await send('GET', '/api/soc/events?limit=50', { token: admin })).json();
      assert.ok(all.length > 0);
      hasFields(all[0], ['id', 'type', 'severity', 'message', 'timestamp', 'user_id', 'vm_id'], 'event');
    });

    test('GET /api/soc/statistics → 200 with the seed fields', async () => {
      const res = await send('GET', '/api/soc/statistics', { token: admin });
      assert.equal(res.statusCode, 200, res.body);
      hasFields(res.json(), ['total_events', 'info_count', 'warning_count', 'critical_count', 'by_type'], 'statistics');
    });

    test('POST /api/vms/{id}/action {action} → 202 Action (ours: asynchronous), for stop, start, restart, destroy', async () => {
      for (const action of ['stop', 'start', 'restart', 'destroy']) {
        const res = await json('POST', `/api/vms/${vmId}/action`, { action }, user.token);
        assert.equal(res.statusCode, 202, `${action}: ${res.body}`);
        hasFields(res.json(), ['id', 'type', 'status'], `${action} action`);
        await h.services.ops.idle();
      }
      const gone = await send('GET', '/api/vms', { token: user.token });
      assert.equal(gone.json().length, 0);
    });
  });
}
