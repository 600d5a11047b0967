import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { createHarness, type Harness } from '../../test-support/harness.js';

const GB = 1e9;

for (const kind of testDatabaseKinds()) {
  describe(`DO /v2 monitoring: droplet metrics from stored history, alert policies (${kind})`, () => {
    let h: Harness;
    let alice: { id: number; token: string };
    let bob: { id: number; token: string };
    let vmId: number;
    let bobVm: number;
    let t0: number;
    before(async () => {
      h = await createHarness(kind);
      alice = await h.user('alice');
      bob = await h.user('bob');
      vmId = await h.vm(alice, 'web-1');
      bobVm = await h.vm(bob, 'bob-1');
      // Five raw samples a minute apart, as the collector stores them (guest agent and hypervisor values).
      const now = Math.floor(h.clock.now().getTime() / 1000);
      t0 = Math.floor((now - 600) / 60) * 60;
      const rows = [0, 1, 2, 3, 4].map((i) => ({
        entity: 'vm' as const, entity_id: vmId, resolution: 0, ts: t0 + i * 60,
        guest_memory_total_bytes: 1 * GB,
        // The agent missed the sample at i = 2: nothing may be made up for it.
        guest_memory_used_bytes: i === 2 ? null : 0.4 * GB + i * 1e6,
        fs_total_bytes: 10 * GB, fs_used_bytes: 3 * GB + i * 1e6,
        net_rx_bps: 125_000 * i, net_tx_bps: 250_000, cpu_percent: 12.5, minmax: null,
      }));
      await h.db.handle.db.insertInto('metric_samples').values(rows).execute();
    });
    after(() => h.close());

    const metric = (name: string, extra = '', token = alice.token, host = vmId) =>
      h.request({ method: 'GET', url: `/v2/monitoring/metrics/droplet/${name}?host_id=${host}&start=${t0 - 60}&end=${t0 + 360}${extra}`, token });
    const values = (res: { json(): any }) => res.json().data.result[0].values as [number, string][];

    test('memory_total, memory_available, filesystem_size/free: Prometheus matrix from the stored samples', async () => {
      const total = await metric('memory_total');
      assert.equal(total.statusCode, 200, total.body);
      const body = total.json();
      assert.equal(body.status, 'success');
      assert.equal(body.data.resultType, 'matrix');
      assert.equal(body.data.result.length, 1);
      assert.deepEqual(body.data.result[0].metric, { host_id: String(vmId) });
      assert.deepEqual(values(total), [0, 1, 2, 3, 4].map((i) => [t0 + i * 60, String(GB)]));

      // available = total − used; the sample without "used" has no value (never invented).
      assert.deepEqual(values(await metric('memory_available')), [0, 1, 3, 4].map((i) => [t0 + i * 60, String(0.6 * GB - i * 1e6)]));
      assert.deepEqual(values(await metric('filesystem_size')), [0, 1, 2, 3, 4].map((i) => [t0 + i * 60, String(10 * GB)]));
      const free = await metric('filesystem_free');
      assert.deepEqual(free.json().data.result[0].metric, { host_id: String(vmId), mountpoint: '/' });
      assert.deepEqual(values(free), [0, 1, 2, 3, 4].map((i) => [t0 + i * 60, String(7 * GB - i * 1e6)]));
    });

    test('bandwidth: public inbound/outbound in Mbit/s with its labels; private and bad parameters are 422', async () => {
      const inbound = await metric('bandwidth', '&interface=public&direction=inbound');
      assert.equal(inbound.statusCode, 200, inbound.body);
      assert.deepEqual(inbound.json().data.result[0].metric, { host_id: String(vmId), interface: 'public', direction: 'inbound' });
      assert.deepEqual(values(inbound), [0, 1, 2, 3, 4].map((i) => [t0 + i * 60, String(i)]));
      assert.deepEqual(values(await metric('bandwidth', '&interface=public&direction=outbound')).map(([, v]) => v), ['2', '2', '2', '2', '2']);
      for (const extra of ['&interface=private&direction=inbound', '&interface=public', '&interface=eth0&direction=inbound']) {
        const res = await metric('bandwidth', extra);
        assert.equal(res.statusCode, 422, extra);
        assert.equal(res.json().id, 'unprocessable_entity');
      }
    });

    test('metrics we do not collect are 422s that say so, not made-up series', async () => {
      for (const name of ['cpu', 'memory_free', 'memory_cached', 'load_1', 'load_5', 'load_15']) {
        const res = await metric(name);
        assert.equal(res.statusCode, 422, name);
        assert.equal(res.json().id, 'unprocessable_entity');
        assert.match(res.json().message, /not collected/, name);
      }
      assert.equal((await metric('nonsense')).statusCode, 422);
    });

    test("a range without samples has no series; another user's droplet is 404; bad times are 422", async () => {
      const empty = await h.request({ method: 'GET', url: `/v2/monitoring/metrics/droplet/memory_total?host_id=${bobVm}&start=${t0}&end=${t0 + 300}`, token: bob.token });
      assert.equal(empty.statusCode, 200, empty.body);
      assert.deepEqual(empty.json().data.result, []);
      const foreign = await metric('memory_total', '', bob.token);
      assert.equal(foreign.statusCode, 404);
      assert.equal(foreign.json().id, 'not_found');
      for (const q of [`host_id=${vmId}&start=abc&end=1`, `host_id=${vmId}&start=${t0}&end=${t0}`, `start=${t0}&end=${t0 + 60}`]) {
        const res = await h.request({ method: 'GET', url: `/v2/monitoring/metrics/droplet/memory_total?${q}`, token: alice.token });
        assert.equal(res.statusCode, 422, `${q}: ${res.body}`);
        assert.equal(res.json().id, 'unprocessable_entity');
      }
    });

    test('alert policies: create, list, get, replace and delete DO-style, stored as our policies (units converted)', async () => {
      const body = {
        type: 'v1/insights/droplet/public_inbound_bandwidth', description: 'busy link', compare: 'GreaterThan', value: 1.5, window: '10m',
        entities: [String(vmId)], tags: [], alerts: { email: [], slack: [] }, enabled: true,
      };
      const created = await h.request({ method: 'POST', url: '/v2/monitoring/alerts', token: alice.token, body });
      assert.equal(created.statusCode, 200, created.body);
      const policy = created.json().policy;
      assert.deepEqual({ ...policy, uuid: undefined }, { ...body, uuid: undefined });
      assert.equal(typeof policy.uuid, 'string');
      // The same policy on /api, in bytes per second: one set of rules (quota, validation, the evaluator).
      const ours = (await h.request({ method: 'GET', url: `/api/alerts/policies/${policy.uuid}`, token: alice.token })).json();
      assert.equal(ours.metric, 'net_rx_bps');
      assert.equal(ours.value, 187_500);
      assert.deepEqual(ours.vm_ids, [vmId]);

      const list = (await h.request({ method: 'GET', url: '/v2/monitoring/alerts', token: alice.token })).json();
      assert.deepEqual(list.policies, [policy]);
      assert.equal(list.meta.total, 1);
      assert.deepEqual((await h.request({ method: 'GET', url: `/v2/monitoring/alerts/${policy.uuid}`, token: alice.token })).json().policy, policy);
      assert.equal((await h.request({ method: 'GET', url: `/v2/monitoring/alerts/${policy.uuid}`, token: bob.token })).statusCode, 404);
      assert.deepEqual((await h.request({ method: 'GET', url: '/v2/monitoring/alerts', token: bob.token })).json().policies, []);

      const replaced = await h.request({ method: 'PUT', url: `/v2/monitoring/alerts/${policy.uuid}`, token: alice.token, body: { ...body, type: 'v1/insights/droplet/cpu', value: 90, enabled: false, entities: [] } });
      assert.equal(replaced.statusCode, 200, replaced.body);
      assert.equal(replaced.json().policy.type, 'v1/insights/droplet/cpu');
      const after = (await h.request({ method: 'GET', url: `/api/alerts/policies/${policy.uuid}`, token: alice.token })).json();
      assert.deepEqual([after.metric, after.value, after.enabled, after.vm_ids], ['cpu_percent', 90, false, []]);

      assert.equal((await h.request({ method: 'DELETE', url: `/v2/monitoring/alerts/${policy.uuid}`, token: bob.token })).statusCode, 404);
      assert.equal((await h.request({ method: 'DELETE', url: `/v2/monitoring/alerts/${policy.uuid}`, token: alice.token })).statusCode, 204);
      assert.equal((await h.request({ method: 'GET', url: `/api/alerts/policies/${policy.uuid}`, token: alice.token })).statusCode, 404);
    });

    test('alert policies: what we cannot honour is a 422 in DO shape', async () => {
      const base = { type: 'v1/insights/droplet/cpu', compare: 'GreaterThan', value: 80, window: '5m', entities: [String(vmId)], tags: [], alerts: { email: [], slack: [] } };
      const cases: [string, Record<string, unknown>][] = [
        ['load average', { type: 'v1/insights/droplet/load_1' }],
        ['per-policy e-mail targets', { alerts: { email: ['ops@example.com'], slack: [] } }],
        ['tags', { tags: ['web'] }],
        ['another user\'s droplet', { entities: [String(bobVm)] }],
        ['a window we do not have', { window: '2h' }],
        ['a percentage above 100', { value: 150 }],
      ];
      for (const [why, patch] of cases) {
        const res = await h.request({ method: 'POST', url: '/v2/monitoring/alerts', token: alice.token, body: { ...base, ...patch } });
        assert.equal(res.statusCode, 422, `${why}: ${res.body}`);
        assert.equal(res.json().id, 'unprocessable_entity', why);
      }
      assert.deepEqual((await h.request({ method: 'GET', url: '/v2/monitoring/alerts', token: alice.token })).json().policies, [], 'nothing was stored');
    });
  });
}
