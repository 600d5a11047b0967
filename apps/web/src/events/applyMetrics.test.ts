import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QueryClient } from '@tanstack/react-query';
import type { Alert, MetricsHistory, VmMetrics } from '@twarga/contract';
import { keys } from '../api';
import { applyStreamEvent, parseStreamEvent } from './applyEvent';

const T0 = Date.UTC(2026, 10, 30, 12, 0, 0);
const iso = (s: number) => new Date(T0 + s * 1000).toISOString();
const none = { value: null, source: null };

function vmSample(s: number, cpu: number | null, guestUsed: number | null): VmMetrics {
  return {
    vm_id: 7, sampled_at: iso(s), cpu_usage: cpu, memory_usage: null, disk_usage: null, uptime: 60, ip_address: '10.0.2.15',
    cpu_percent: { value: cpu, source: 'hypervisor' }, memory_rss_bytes: { value: 200 * 2 ** 20, source: 'host' },
    guest_memory_used_bytes: { value: guestUsed, source: guestUsed === null ? null : 'guest-agent' }, guest_memory_total_bytes: none,
    fs_used_bytes: none, fs_total_bytes: none, disk_read_bytes_per_sec: none, disk_write_bytes_per_sec: none, disk_read_iops: none, disk_write_iops: none,
    net_rx_bytes_per_sec: none, net_tx_bytes_per_sec: none, ip: { value: '10.0.2.15', source: 'guest-agent' }, guest_agent: guestUsed !== null,
  };
}

const history = (range: string, points: number): MetricsHistory => ({
  entity: 'vm', vm_id: 7, from: iso(-3600), to: iso(0), step: 5, resolution: 'raw',
  series: ['cpu_percent', 'guest_memory_used_bytes'].map((metric) => ({ metric, points: Array.from({ length: points }, (_, i) => ({ t: iso(-5 * (points - i)), avg: 1, min: 1, max: 1 })) })),
});

const push = (qc: QueryClient, payload: unknown) => {
  const event = parseStreamEvent(JSON.stringify(payload));
  assert.ok(event, 'a valid event');
  applyStreamEvent(qc, event);
};

test("a pushed VM sample adds one point to that VM's live (1h) charts without a refetch; null stays a gap", () => {
  const qc = new QueryClient();
  const metrics = 'cpu_percent,guest_memory_used_bytes';
  qc.setQueryData(keys.metricsHistory('vm', 7, '1h', metrics), history('1h', 3));
  qc.setQueryData(keys.metricsHistory('vm', 7, '24h', metrics), history('24h', 3));
  qc.setQueryData(keys.metricsHistory('vm', 8, '1h', metrics), history('1h', 3));
  qc.setQueryData(keys.vmMetrics(7), vmSample(-5, 1, 1));

  push(qc, { kind: 'metrics', entity: 'vm', vm_id: 7, sample: vmSample(5, 42.5, null) });

  const live = qc.getQueryData<MetricsHistory>(keys.metricsHistory('vm', 7, '1h', metrics))!;
  const cpu = live.series.find((s) => s.metric === 'cpu_percent')!.points;
  const mem = live.series.find((s) => s.metric === 'guest_memory_used_bytes')!.points;
  assert.equal(cpu.length, 4);
  assert.deepEqual(cpu.at(-1), { t: iso(5), avg: 42.5, min: 42.5, max: 42.5 });
  assert.equal(mem.at(-1)!.avg, null, 'the agent gave nothing: a gap, not 0');
  assert.equal(qc.getQueryData<MetricsHistory>(keys.metricsHistory('vm', 7, '24h', metrics))!.series[0]!.points.length, 3, 'rollup ranges are not appended to');
  assert.equal(qc.getQueryData<MetricsHistory>(keys.metricsHistory('vm', 8, '1h', metrics))!.series[0]!.points.length, 3, 'another VM is untouched');
  assert.equal(qc.getQueryData<VmMetrics>(keys.vmMetrics(7))!.cpu_percent.value, 42.5, 'the latest values follow');
  assert.equal(qc.getQueryState(keys.metricsHistory('vm', 7, '1h', metrics))!.isInvalidated, false, 'no refetch');

  // The same sample again (it overtook a refetch) is not added twice; points older than an hour go.
  push(qc, { kind: 'metrics', entity: 'vm', vm_id: 7, sample: vmSample(5, 42.5, null) });
  assert.equal(qc.getQueryData<MetricsHistory>(keys.metricsHistory('vm', 7, '1h', metrics))!.series[0]!.points.length, 4);
  push(qc, { kind: 'metrics', entity: 'vm', vm_id: 7, sample: vmSample(3601, 10, 5) });
  const later = qc.getQueryData<MetricsHistory>(keys.metricsHistory('vm', 7, '1h', metrics))!.series[0]!.points;
  assert.deepEqual(later.map((p) => p.t), [iso(5), iso(3601)]);
});

test('a pushed host sample goes to the host charts in stored units (bytes, not MB)', () => {
  const qc = new QueryClient();
  qc.setQueryData(keys.metricsHistory('host', 0, '1h', 'memory_used_bytes'), { ...history('1h', 1), entity: 'host', vm_id: null, series: [{ metric: 'memory_used_bytes', points: [] }] });
  const sample = {
    sampled_at: iso(5), cpu: { usage_percent: 12, count: 2, frequency: null, per_core_percent: [10, 14] }, load: { load1: 0.5, load5: 0.4, load15: 0.3 },
    memory: { usage_percent: 50, used_mb: 1024, total_mb: 2048, available_mb: 1024 }, swap: { usage_percent: null, used_mb: 0, total_mb: 0 },
    disk: { path: '/data', usage_percent: 10, used_gb: 1, total_gb: 10, read_bytes_per_sec: null, write_bytes_per_sec: null, read_iops: null, write_iops: null },
    network: { bytes_sent: 0, bytes_recv: 0, speed_mbps: null, rx_bytes_per_sec: null, tx_bytes_per_sec: null, interfaces: [] }, uptime_seconds: 100,
  };
  push(qc, { kind: 'metrics', entity: 'host', sample });
  const points = qc.getQueryData<MetricsHistory>(keys.metricsHistory('host', 0, '1h', 'memory_used_bytes'))!.series[0]!.points;
  assert.deepEqual(points, [{ t: iso(5), avg: 1024 * 2 ** 20, min: 1024 * 2 ** 20, max: 1024 * 2 ** 20 }]);
});

test('a pushed alert joins the open list, and leaves it (for the resolved one) when it resolves', () => {
  const qc = new QueryClient();
  const alert: Alert = {
    id: 3, policy_id: 1, user_id: 2, entity: 'vm', vm_id: 7, metric: 'cpu_percent', compare: 'GreaterThan', threshold: 80, value: 95, last_value: 95,
    state: 'open', message: 'CPU above 80 %', opened_at: iso(0), resolved_at: null,
  };
  const older: Alert = { ...alert, id: 1, state: 'resolved', opened_at: iso(-600), resolved_at: iso(-300) };
  qc.setQueryData(keys.alerts('open', null), []);
  qc.setQueryData(keys.alerts('all', null), [older]);
  qc.setQueryData(keys.alerts('all', 8), []);
  push(qc, { kind: 'alert', alert });
  assert.deepEqual(qc.getQueryData<Alert[]>(keys.alerts('open', null))!.map((a) => a.id), [3]);
  assert.deepEqual(qc.getQueryData<Alert[]>(keys.alerts('all', null))!.map((a) => a.id), [3, 1], 'open first');
  assert.deepEqual(qc.getQueryData<Alert[]>(keys.alerts('all', 8)), [], "another VM's list is untouched");
  push(qc, { kind: 'alert', alert: { ...alert, state: 'resolved', resolved_at: iso(60) } });
  assert.deepEqual(qc.getQueryData<Alert[]>(keys.alerts('open', null)), []);
  assert.deepEqual(qc.getQueryData<Alert[]>(keys.alerts('all', null))!.map((a) => [a.id, a.state]), [[3, 'resolved'], [1, 'resolved']]);
});

test('malformed metrics and alert events are ignored', () => {
  for (const data of ['{"kind":"metrics","entity":"vm","sample":{"sampled_at":"x"}}', '{"kind":"metrics","entity":"host"}', '{"kind":"alert","alert":{"id":"1"}}']) {
    assert.equal(parseStreamEvent(data), undefined, data);
  }
});
