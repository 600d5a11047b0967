import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BusMessage } from '../../operations/live-bus.js';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { CountingDriver } from '../../test-support/counting-driver.js';
import { createHarness, PASSWORD, type Harness } from '../../test-support/harness.js';

const MB = 2 ** 20;

for (const kind of testDatabaseKinds()) {
  describe(`metrics API, collector, rollups and retention (${kind})`, () => {
    let h: Harness;
    let driver: CountingDriver;
    let admin: string;
    let alice: { id: number; token: string };
    let bob: { id: number; token: string };
    let vmId: number;
    let inst: string;
    const messages: BusMessage[] = [];
    before(async () => {
      driver = new CountingDriver();
      h = await createHarness(kind, { sshPortRange: '25600-25699' }, driver);
      admin = await h.adminToken();
      alice = await h.user('alice');
      bob = await h.user('bob');
      await h.request({ method: 'POST', url: `/api/admin/users/${alice.id}/credits`, token: admin, body: { amount: 100_000, reason: 'test' } });
      const res = await h.request({ method: 'POST', url: '/api/vms', token: alice.token, body: { name: 'web', image: 'tiny', size: 's-1vcpu-1gb' } });
      assert.equal(res.statusCode, 201, res.body);
      vmId = res.json().id;
      await h.services.ops.idle();
      inst = `vm-${vmId}`;
      h.services.bus.subscribe((m) => {
        if (m.event.kind === 'metrics') messages.push(m);
      });
    });
    after(() => h.close());

    const get = (url: string, token = alice.token) => h.request({ method: 'GET', url, token });
    const collect = () => h.request({ method: 'POST', url: '/api/metrics/collect', token: admin });
    /** Sessions expire when the clock jumps days: log in again. */
    const relogin = async () => {
      admin = await h.adminToken();
      const res = await h.request({ method: 'POST', url: '/api/auth/login', body: { username: 'alice', password: PASSWORD } });
      alice = { id: alice.id, token: res.json().access_token };
    };
    const advanceSeconds = (s: number) => h.clock.advanceMinutes(s / 60);
    const rows = async () => Number((await h.db.handle.db.selectFrom('metric_samples').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const setCounters = (cpuSeconds: number, writeMb: number) =>
      driver.counters.set(inst, { cpuTimeNs: cpuSeconds * 1e9, memoryRssBytes: 300 * MB, disk: { readBytes: 0, writeBytes: writeMb * MB } });

    test('host metrics: admins only, the seed fields, real values; GETs store nothing', async () => {
      assert.equal((await get('/api/metrics/host')).statusCode, 403);
      const res = await get('/api/metrics/host', admin);
      assert.equal(res.statusCode, 200, res.body);
      const m = res.json();
      assert.ok(m.cpu.count >= 1);
      assert.equal(m.cpu.usage_percent, null, 'one reading has no CPU rate');
      assert.ok(m.memory.total_mb > 100 && m.memory.used_mb > 0 && m.memory.usage_percent > 0);
      assert.ok(m.disk.total_gb > 0 && m.disk.used_gb > 0);
      assert.equal(typeof m.network.bytes_recv, 'number');
      assert.ok(m.uptime_seconds > 0);
      await get(`/api/metrics/vm/${vmId}`);
      await get(`/api/metrics/host/history?metric=cpu_percent`, admin);
      assert.equal(await rows(), 0, 'no GET took a sample');
      for (const [method, url] of [['POST', '/api/metrics/collect'], ['DELETE', '/api/metrics/cleanup'], ['GET', '/api/metrics/host/history?metric=cpu_percent']] as const) {
        assert.equal((await h.request({ method, url, token: alice.token })).statusCode, 403, url);
      }
    });

    test("VM rates from the hypervisor's counters; guest values with their source; null where nobody counts", async () => {
      setCounters(10, 0);
      assert.equal((await collect()).statusCode, 200);
      const first = (await get(`/api/metrics/vm/${vmId}`)).json();
      assert.equal(first.cpu_percent.value, null, 'first sample: no rate');
      assert.equal(first.memory_rss_bytes.value, 300 * MB);
      assert.equal(first.memory_rss_bytes.source, 'host');
      assert.equal(first.guest_agent, false);
      assert.equal(first.guest_memory_used_bytes.value, null, 'silent agent: absent, not 0');
      assert.equal(first.disk_usage, null);

      driver.guest.set(inst, {
        agent: true,
        filesystems: [{ mountpoint: '/', type: 'ext4', usedBytes: 250 * MB, totalBytes: 1000 * MB }],
        interfaces: [{ name: 'lo', addresses: ['127.0.0.1'], rxBytes: 1, txBytes: 1 }, { name: 'eth0', addresses: ['10.0.2.15', 'fe80::1'], rxBytes: 5, txBytes: 6 }],
        memory: { totalBytes: 1000 * MB, availableBytes: 600 * MB },
      });
      advanceSeconds(10);
      setCounters(15, 50); // 5 s of CPU in 10 s on 1 vCPU = 50 %; 50 MB in 10 s
      // The host's CPU rate comes from the real /proc/stat, which counts in 10 ms ticks: let a few pass.
      await sleep(50);
      messages.length = 0;
      const c = await collect();
      assert.equal(c.json().vms, 1);
      const m = (await get(`/api/metrics/vm/${vmId}`)).json();
      assert.deepEqual(m.cpu_percent, { value: 50, source: 'hypervisor' });
      assert.equal(m.cpu_usage, 50);
      assert.deepEqual(m.disk_write_bytes_per_sec, { value: 5 * MB, source: 'hypervisor' });
      assert.deepEqual(m.disk_read_bytes_per_sec, { value: 0, source: 'hypervisor' });
      assert.deepEqual(m.disk_write_iops, { value: null, source: null }, 'no op counters: no IOPS invented');
      assert.deepEqual(m.net_rx_bytes_per_sec, { value: null, source: null }, 'user networking: nothing counts it');
      assert.deepEqual(m.guest_memory_used_bytes, { value: 400 * MB, source: 'guest-agent' });
      assert.equal(m.memory_usage, 40);
      assert.equal(m.disk_usage, 25);
      assert.deepEqual(m.ip, { value: '10.0.2.15', source: 'guest-agent' });
      assert.equal(m.ip_address, '10.0.2.15');
      assert.equal(m.guest_agent, true);

      // Published on the events channel: the VM's sample to its owner, the host's to admins only (owner 0).
      const vmMsg = messages.find((x) => x.event.kind === 'metrics' && x.event.entity === 'vm');
      assert.equal(vmMsg?.ownerId, alice.id);
      const hostMsg = messages.find((x) => x.event.kind === 'metrics' && x.event.entity === 'host');
      assert.equal(hostMsg?.ownerId, 0);
      const host = (await get('/api/metrics/host', admin)).json();
      assert.equal(typeof host.cpu.usage_percent, 'number', 'second host sample has a CPU rate');
    });

    test("another user's VM metrics and history are 404; an admin sees them", async () => {
      for (const url of [`/api/metrics/vm/${vmId}`, `/api/metrics/vm/${vmId}/history?metric=cpu_percent`, '/api/metrics/vm/999999']) {
        const res = await get(url, bob.token);
        assert.equal(res.statusCode, 404, `${url}: ${res.body}`);
        assert.ok(!res.body.includes('10.0.2.15'));
      }
      assert.equal((await get(`/api/metrics/vm/${vmId}`, admin)).statusCode, 200);
    });

    test('bad history queries are 400s that list what is valid', async () => {
      const base = `/api/metrics/vm/${vmId}/history`;
      const cases: [string, RegExp][] = [
        [`${base}?metric=bogus`, /cpu_percent.*disk_write_bps/],
        [`${base}?metric=load1`, /valid metrics are/],
        [`${base}?metric=cpu_percent&range=1y`, /1h, 6h, 24h, 7d, 30d/],
        [`${base}?metric=cpu_percent&range=1h&step=1`, /at least 5 s/],
        [`${base}?metric=cpu_percent&range=30d&step=60`, /at least 3600 s/],
        [`${base}?metric=cpu_percent&from=2020-01-01T00:00:00Z`, /Range too large/],
        // No metric at all is every metric (the seed's history takes none); an empty one is still a 400.
        [`${base}?metric=`, /Name a metric/],
      ];
      for (const [url, msg] of cases) {
        const res = await get(url);
        assert.equal(res.statusCode, 400, `${url}: ${res.body}`);
        assert.match(JSON.stringify(res.json()), msg, url);
      }
    });

    test('history: raw by default for 1h, several metrics at once', async () => {
      const res = await get(`/api/metrics/vm/${vmId}/history?metric=cpu_percent,disk_write_bps&range=1h&step=5`);
      assert.equal(res.statusCode, 200, res.body);
      const hist = res.json();
      assert.equal(hist.resolution, 'raw');
      const cpu = hist.series.find((s: { metric: string }) => s.metric === 'cpu_percent');
      assert.deepEqual(cpu.points.map((p: { avg: number }) => p.avg), [50], 'the first sample had no rate: left out, not 0');
      const disk = hist.series.find((s: { metric: string }) => s.metric === 'disk_write_bps');
      assert.equal(disk.points.at(-1).avg, 5 * MB);
      const hostHist = (await get('/api/metrics/host/history?metric=memory_used_bytes&metric=load1&range=1h', admin)).json();
      assert.equal(hostHist.series.length, 2);
      assert.ok(hostHist.series[0].points.length >= 1);
    });

    test('rollups keep min/avg/max; retention drops raw after 24 h, minutes after 7 d, hours after 90 d', async () => {
      // Three more samples 20 s apart at 10 %, 30 %, 80 % CPU.
      let cpu = 15;
      for (const pct of [10, 30, 80]) {
        advanceSeconds(20);
        cpu += (20 * pct) / 100;
        setCounters(cpu, 50);
        await collect();
      }
      advanceSeconds(120);
      const clean = await h.request({ method: 'DELETE', url: '/api/metrics/cleanup', token: admin });
      assert.equal(clean.statusCode, 200, clean.body);
      assert.ok(clean.json().rolled_up >= 2, clean.body);

      const minutes = (await get(`/api/metrics/vm/${vmId}/history?metric=cpu_percent&range=7d&step=604800`)).json();
      assert.equal(minutes.resolution, '1m');
      const [all] = minutes.series[0].points;
      assert.equal(all.min, 10);
      assert.equal(all.max, 80);
      assert.ok(all.avg > 10 && all.avg < 80);

      // A day later: raw samples are gone, the minute rollups stay.
      h.clock.advanceMinutes(25 * 60);
      await relogin();
      const c1 = (await h.request({ method: 'DELETE', url: '/api/metrics/cleanup', token: admin })).json();
      assert.ok(c1.deleted >= 5, JSON.stringify(c1));
      const raw = await h.db.handle.db.selectFrom('metric_samples').select('ts').where('resolution', '=', 0).execute();
      assert.equal(raw.length, 0);
      const later = (await get(`/api/metrics/vm/${vmId}/history?metric=cpu_percent&range=7d&step=604800`)).json();
      assert.equal(later.series[0].points[0].max, 80);

      // Eight days later: only hourly rollups, still with the true min and max.
      h.clock.advanceMinutes(8 * 24 * 60);
      await relogin();
      await h.request({ method: 'DELETE', url: '/api/metrics/cleanup', token: admin });
      const month = (await get(`/api/metrics/vm/${vmId}/history?metric=cpu_percent&range=30d`)).json();
      assert.equal(month.resolution, '1h');
      assert.equal(month.series[0].points.length, 1);
      assert.equal(month.series[0].points[0].min, 10);
      assert.equal(month.series[0].points[0].max, 80);
      const week = (await get(`/api/metrics/vm/${vmId}/history?metric=cpu_percent&range=7d&step=604800`)).json();
      assert.deepEqual(week.series[0].points, [], 'minute rollups past 7 days are gone');

      h.clock.advanceMinutes(91 * 24 * 60);
      await relogin();
      await h.request({ method: 'DELETE', url: '/api/metrics/cleanup', token: admin });
      assert.equal(await rows(), 0, 'everything is past its retention');
    });

    test('a reading the hypervisor does not answer costs one sample, not the next rate', async () => {
      setCounters(100, 0);
      await collect();
      advanceSeconds(10);
      driver.failingStats = 1;
      assert.equal((await collect()).json().vms, 0, 'this pass got nothing from the VM');
      advanceSeconds(10);
      setCounters(110, 0); // 10 s of CPU over the 20 s since the last good reading
      await collect();
      assert.deepEqual((await get(`/api/metrics/vm/${vmId}`)).json().cpu_percent, { value: 50, source: 'hypervisor' });
    });

    test('a stopped VM has no current metrics (null, not 0)', async () => {
      const res = await h.request({ method: 'POST', url: `/api/vms/${vmId}/action`, token: alice.token, body: { action: 'stop' } });
      assert.equal(res.statusCode, 202, res.body);
      await h.services.ops.idle();
      await collect();
      const m = (await get(`/api/metrics/vm/${vmId}`)).json();
      assert.equal(m.sampled_at, null);
      assert.equal(m.cpu_usage, null);
      assert.deepEqual(m.cpu_percent, { value: null, source: null });
    });
  });
}
