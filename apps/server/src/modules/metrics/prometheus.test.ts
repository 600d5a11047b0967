import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../config/config.js';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { CountingDriver } from '../../test-support/counting-driver.js';
import { createHarness, type Harness } from '../../test-support/harness.js';

const MB = 2 ** 20;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The text exposition format, enough of it to check series: `name{l="v",…} value` lines, comments skipped. */
function parse(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/);
    assert.ok(m, `not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, '$1');
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

const series = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

for (const kind of testDatabaseKinds()) {
  describe(`GET /metrics, Prometheus text format (${kind})`, () => {
    let h: Harness;
    let driver: CountingDriver;
    let admin: string;
    let alice: { id: number; token: string };
    let vmId: number;
    let stoppedId: number;
    let inst: string;
    before(async () => {
      driver = new CountingDriver();
      h = await createHarness(kind, { sshPortRange: '25500-25599' }, driver);
      admin = await h.adminToken();
      alice = await h.user('alice');
      await h.request({ method: 'POST', url: `/api/admin/users/${alice.id}/credits`, token: admin, body: { amount: 100_000, reason: 'test' } });
      const create = async (name: string) => {
        const res = await h.request({ method: 'POST', url: '/api/vms', token: alice.token, body: { name, image: 'tiny', size: 's-1vcpu-1gb' } });
        assert.equal(res.statusCode, 201, res.body);
        return res.json().id as number;
      };
      vmId = await create('web');
      stoppedId = await create('idle');
      await h.services.ops.idle();
      assert.equal((await h.request({ method: 'POST', url: `/api/vms/${stoppedId}/action`, token: alice.token, body: { action: 'stop' } })).statusCode, 202);
      await h.services.ops.idle();
      inst = `vm-${vmId}`;
    });
    after(() => h.close());

    const scrape = async () => {
      const res = await h.request({ method: 'GET', url: '/metrics', token: admin });
      assert.equal(res.statusCode, 200, res.body);
      assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
      return parse(res.body);
    };
    const collect = async () => assert.equal((await h.request({ method: 'POST', url: '/api/metrics/collect', token: admin })).statusCode, 200);

    test('admin mode: 401 without credentials, 403 for a user (a security event), 200 for an admin', async () => {
      const anon = await h.request({ method: 'GET', url: '/metrics' });
      assert.equal(anon.statusCode, 401);
      assert.equal(anon.json().code, 'unauthorized');
      assert.ok(anon.json().request_id);
      const user = await h.request({ method: 'GET', url: '/metrics', token: alice.token });
      assert.equal(user.statusCode, 403);
      assert.equal(user.json().code, 'forbidden');
      assert.ok(!user.body.includes('twarga_'), 'no metric in a refusal');
      const denied = await h.services.events.list({ action: 'access.denied' });
      assert.ok(denied.some((e) => e.username === 'alice' && (e.details as { path: string }).path === '/metrics'));
      assert.equal((await h.request({ method: 'GET', url: '/metrics', token: admin })).statusCode, 200);
    });

    test('after two collection passes: VM series with vm/owner/host labels from the fake driver, host series, VM counts', async () => {
      driver.counters.set(inst, { cpuTimeNs: 0, memoryRssBytes: 300 * MB, disk: { readBytes: 0, writeBytes: 0 }, network: { rxBytes: 0, txBytes: 0 } });
      driver.guest.set(inst, { agent: true, memory: { totalBytes: 1024 * MB, availableBytes: 768 * MB }, filesystems: [{ mountpoint: '/', type: 'ext4', usedBytes: 40 * MB, totalBytes: 100 * MB }] });
      await collect();
      h.clock.advanceMinutes(10 / 60);
      // 10 s later: 5 s of CPU on 1 vCPU (50 %), 20 MB written, 1 MB received.
      driver.counters.set(inst, { cpuTimeNs: 5e9, memoryRssBytes: 300 * MB, disk: { readBytes: 0, writeBytes: 20 * MB }, network: { rxBytes: MB, txBytes: 0 } });
      await collect();
      admin = await h.adminToken();
      const s = await scrape();
      const vmLabels = { vm: 'web', vm_id: String(vmId), owner: 'alice', host: 'local' };
      const one = (name: string, labels: Record<string, string> = vmLabels) => {
        const found = series(s, name, labels);
        assert.equal(found.length, 1, `${name}${JSON.stringify(labels)}: ${JSON.stringify(found)}`);
        return found[0]!.value;
      };
      assert.equal(one('twarga_vm_cpu_usage_ratio'), 0.5);
      assert.equal(one('twarga_vm_vcpus'), 1);
      assert.equal(one('twarga_vm_memory_rss_bytes'), 300 * MB);
      assert.equal(one('twarga_vm_guest_memory_used_bytes'), 256 * MB);
      assert.equal(one('twarga_vm_guest_memory_total_bytes'), 1024 * MB);
      assert.equal(one('twarga_vm_filesystem_used_bytes'), 40 * MB);
      assert.equal(one('twarga_vm_disk_written_bytes_per_second'), (20 * MB) / 10);
      assert.equal(one('twarga_vm_disk_read_bytes_per_second'), 0);
      assert.equal(one('twarga_vm_network_receive_bytes_per_second'), MB / 10);
      assert.equal(one('twarga_vm_guest_agent_up'), 1);
      // The hypervisor's running totals, as counters for rate().
      assert.equal(one('twarga_vm_cpu_seconds_total'), 5);
      assert.equal(one('twarga_vm_disk_written_bytes_total'), 20 * MB);
      assert.equal(one('twarga_vm_disk_read_bytes_total'), 0);
      assert.equal(one('twarga_vm_network_receive_bytes_total'), MB);
      const raw = (await h.request({ method: 'GET', url: '/metrics', token: admin })).body;
      assert.match(raw, /^# TYPE twarga_vm_cpu_seconds_total counter$/m);
      // The stopped VM has no sample: no per-VM series at all.
      assert.deepEqual(s.filter((x) => x.labels.vm === 'idle'), []);
      assert.equal(one('twarga_vms', { status: 'running' }), 1);
      assert.equal(one('twarga_vms', { status: 'stopped' }), 1);
      assert.equal(one('twarga_vms', { status: 'error' }), 0);
      assert.equal(series(s, 'twarga_vms', { status: 'destroyed' }).length, 0);

      const hostLabels = { host: 'local' };
      assert.ok(one('twarga_host_memory_total_bytes', hostLabels) > 100 * MB);
      assert.ok(one('twarga_host_cpus', hostLabels) >= 1);
      const cpu = one('twarga_host_cpu_usage_ratio', hostLabels);
      assert.ok(cpu >= 0 && cpu <= 1, `ratio ${cpu}`);
      assert.ok(series(s, 'twarga_host_network_receive_bytes_total', { host: 'local', device: 'lo' }).length === 1);
      assert.ok(one('twarga_host_filesystem_size_bytes', { host: 'local', mountpoint: h.config.dataDir }) > 0);

      assert.equal(one('twarga_metrics_collector_pass_duration_seconds_count', {}), 2);
      assert.equal(one('twarga_metrics_collector_passes_total', { result: 'ok' }), 2);
      assert.equal(one('twarga_metrics_collector_vms', {}), 1);
      assert.equal(one('twarga_metrics_collector_last_pass_timestamp_seconds', {}), h.clock.now().getTime() / 1000);
      // prom-client's default process metrics.
      assert.ok(one('process_cpu_user_seconds_total', {}) > 0);
      assert.ok(one('nodejs_heap_size_used_bytes', {}) > 0);
    });

    test('a silent guest agent: guest memory and filesystem series are absent, never 0; agent_up is 0', async () => {
      driver.guest.set(inst, { agent: false });
      h.clock.advanceMinutes(10 / 60);
      await collect();
      admin = await h.adminToken();
      const s = await scrape();
      for (const name of ['twarga_vm_guest_memory_used_bytes', 'twarga_vm_guest_memory_total_bytes', 'twarga_vm_filesystem_used_bytes', 'twarga_vm_filesystem_size_bytes']) {
        assert.deepEqual(series(s, name), [], `${name} must be absent`);
      }
      assert.equal(series(s, 'twarga_vm_guest_agent_up', { vm: 'web' })[0]?.value, 0);
      assert.equal(series(s, 'twarga_vm_memory_rss_bytes', { vm: 'web' })[0]?.value, 300 * MB, 'host RSS stays, on its own series');
    });

    test('request metrics use the route pattern, not the raw URL', async () => {
      const before = series(await scrape(), 'twarga_http_requests_total', { method: 'GET', route: '/api/metrics/vm/:id', status_code: '200' })[0]?.value ?? 0;
      for (let i = 0; i < 3; i++) assert.equal((await h.request({ method: 'GET', url: `/api/metrics/vm/${vmId}`, token: alice.token })).statusCode, 200);
      assert.equal((await h.request({ method: 'GET', url: `/api/metrics/vm/999999`, token: alice.token })).statusCode, 404);
      assert.equal((await h.request({ method: 'GET', url: '/no/such/thing', token: alice.token })).statusCode, 404);
      const s = await scrape();
      assert.equal(series(s, 'twarga_http_requests_total', { method: 'GET', route: '/api/metrics/vm/:id', status_code: '200' })[0]?.value, before + 3);
      assert.equal(series(s, 'twarga_http_requests_total', { method: 'GET', route: '/api/metrics/vm/:id', status_code: '404' })[0]?.value, 1);
      assert.ok(series(s, 'twarga_http_requests_total', { route: 'unmatched', status_code: '404' }).length >= 1);
      assert.ok(series(s, 'twarga_http_request_duration_seconds_count', { method: 'GET', route: '/api/metrics/vm/:id', status_code: '200' })[0]!.value >= 3);
      assert.deepEqual(s.filter((x) => /\/\d+|no\/such/.test(x.labels.route ?? '')), [], 'no raw URL in a label');
    });
  });
}

describe('GET /metrics access modes (sqlite)', () => {
  let loopback: Harness;
  let off: Harness;
  before(async () => {
    loopback = await createHarness('sqlite', { prometheusAccess: 'loopback' });
    off = await createHarness('sqlite', { prometheusAccess: 'off' });
  });
  after(async () => {
    await loopback.close();
    await off.close();
  });

  test('loopback: no credentials needed from 127.0.0.1 and ::1; 404 from any other address or through a proxy', async () => {
    for (const remoteAddress of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) {
      const res = await loopback.app.inject({ method: 'GET', url: '/metrics', remoteAddress });
      assert.equal(res.statusCode, 200, `${remoteAddress}: ${res.body.slice(0, 200)}`);
      assert.match(res.body, /^# HELP twarga_/m);
    }
    const admin = await loopback.adminToken();
    for (const remoteAddress of ['10.0.0.5', '192.168.1.20', 'fe80::1']) {
      const res = await loopback.app.inject({ method: 'GET', url: '/metrics', remoteAddress, headers: { authorization: `Bearer ${admin}` } });
      assert.equal(res.statusCode, 404, remoteAddress);
      assert.equal(res.json().code, 'not_found');
      assert.ok(!res.body.includes('twarga_'));
    }
    const proxied = await loopback.app.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': '203.0.113.7' } });
    assert.equal(proxied.statusCode, 404);
  });

  test('off: no route at all (404 with the error body, absent from the route table)', async () => {
    const admin = await off.adminToken();
    const res = await off.request({ method: 'GET', url: '/metrics', token: admin });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().code, 'not_found');
    assert.ok(!off.routes.some((r) => r.url === '/metrics'));
  });
});

test('TWARGA_PROMETHEUS_ACCESS: admin by default, loopback/off accepted, anything else stops the start naming the variable', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'twarga-prom-config-'));
  try {
    assert.equal(loadConfig({ TWARGA_DATA_DIR: dir }).prometheusAccess, 'admin');
    assert.equal(loadConfig({ TWARGA_DATA_DIR: dir, TWARGA_PROMETHEUS_ACCESS: 'loopback' }).prometheusAccess, 'loopback');
    assert.equal(loadConfig({ TWARGA_DATA_DIR: dir, TWARGA_PROMETHEUS_ACCESS: 'off' }).prometheusAccess, 'off');
    assert.throws(() => loadConfig({ TWARGA_DATA_DIR: dir, TWARGA_PROMETHEUS_ACCESS: 'public' }), (err: Error) => err instanceof ConfigError && /TWARGA_PROMETHEUS_ACCESS/.test(err.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
