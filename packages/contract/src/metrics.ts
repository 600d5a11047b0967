import { Type, type Static } from '@sinclair/typebox';
import { Timestamp } from './common.js';

/** Where a value came from. A value nobody can give is null, never 0. */
export const MetricSources = ['hypervisor', 'guest-agent', 'host'] as const;
export type MetricSource = (typeof MetricSources)[number];
export const MetricSource = Type.Union(MetricSources.map((s) => Type.Literal(s)));

/** Metrics kept in history, per entity (the names the history endpoints accept). */
export const HostMetricNames = [
  'cpu_percent', 'load1', 'load5', 'load15', 'memory_used_bytes', 'memory_total_bytes', 'swap_used_bytes', 'swap_total_bytes',
  'fs_used_bytes', 'fs_total_bytes', 'disk_read_bps', 'disk_write_bps', 'net_rx_bps', 'net_tx_bps',
] as const;
export const VmMetricNames = [
  'cpu_percent', 'memory_rss_bytes', 'guest_memory_used_bytes', 'guest_memory_total_bytes', 'fs_used_bytes', 'fs_total_bytes',
  'disk_read_bps', 'disk_write_bps', 'net_rx_bps', 'net_tx_bps',
] as const;
export type HostMetricName = (typeof HostMetricNames)[number];
export type VmMetricName = (typeof VmMetricNames)[number];
export const MetricRanges = ['1h', '6h', '24h', '7d', '30d'] as const;

const Num = Type.Union([Type.Number(), Type.Null()]);
const Rate = Type.Union([Type.Number(), Type.Null()], { description: 'per second; null on the first sample or where nothing counts it' });
/** A value with its source; value null when nobody can give it. */
const Sourced = Type.Object({ value: Num, source: Type.Union([MetricSource, Type.Null()]) });

export const HostMetrics = Type.Object({
  sampled_at: Timestamp,
  cpu: Type.Object({ usage_percent: Num, count: Type.Integer(), frequency: Num, per_core_percent: Type.Array(Num) }),
  load: Type.Object({ load1: Type.Number(), load5: Type.Number(), load15: Type.Number() }),
  memory: Type.Object({ usage_percent: Type.Number(), used_mb: Type.Number(), total_mb: Type.Number(), available_mb: Type.Number() }),
  swap: Type.Object({ usage_percent: Num, used_mb: Type.Number(), total_mb: Type.Number() }),
  disk: Type.Object({
    path: Type.String({ description: "the data dir's filesystem" }),
    usage_percent: Type.Number(), used_gb: Type.Number(), total_gb: Type.Number(),
    read_bytes_per_sec: Rate, write_bytes_per_sec: Rate, read_iops: Rate, write_iops: Rate,
  }),
  network: Type.Object({
    bytes_sent: Type.Number({ description: 'total since boot, all interfaces but loopback' }),
    bytes_recv: Type.Number(),
    speed_mbps: Type.Union([Type.Number(), Type.Null()], { description: 'current throughput (sent + received), Mbit/s' }),
    rx_bytes_per_sec: Rate, tx_bytes_per_sec: Rate,
    interfaces: Type.Array(Type.Object({ name: Type.String(), rx_bytes: Type.Number(), tx_bytes: Type.Number(), rx_bytes_per_sec: Rate, tx_bytes_per_sec: Rate })),
  }),
  uptime_seconds: Type.Number(),
});
export type HostMetrics = Static<typeof HostMetrics>;

export const VmMetrics = Type.Object({
  vm_id: Type.Integer(),
  sampled_at: Type.Union([Timestamp, Type.Null()], { description: 'null: no sample yet (VM not running or collector not run)' }),
  /** The seed's fields. */
  cpu_usage: Num, memory_usage: Num, disk_usage: Num, uptime: Num, ip_address: Type.Union([Type.String(), Type.Null()]),
  /** Ours, each with its source. */
  cpu_percent: Sourced,
  memory_rss_bytes: Sourced,
  guest_memory_used_bytes: Sourced,
  guest_memory_total_bytes: Sourced,
  fs_used_bytes: Sourced,
  fs_total_bytes: Sourced,
  disk_read_bytes_per_sec: Sourced,
  disk_write_bytes_per_sec: Sourced,
  disk_read_iops: Sourced,
  disk_write_iops: Sourced,
  net_rx_bytes_per_sec: Sourced,
  net_tx_bytes_per_sec: Sourced,
  ip: Type.Object({ value: Type.Union([Type.String(), Type.Null()]), source: Type.Union([MetricSource, Type.Null()]) }),
  guest_agent: Type.Union([Type.Boolean(), Type.Null()], { description: 'the agent answered; null: the driver has no agent channel' }),
});
export type VmMetrics = Static<typeof VmMetrics>;

export const MetricsHistoryQuery = Type.Object({
  metric: Type.Optional(Type.Array(Type.String(), { description: 'one or several metric names (repeat the parameter, or comma-separated); default: every metric of the host or VM' })),
  /** The seed's name for `metric` (GET /api/metrics/vm/{id}/history?metric_name=…): the two are merged. */
  metric_name: Type.Optional(Type.Array(Type.String(), { description: 'the seed\'s name for metric; merged with it' })),
  range: Type.Optional(Type.String({ description: '1h|6h|24h|7d|30d (default 1h); or from/to' })),
  from: Type.Optional(Timestamp),
  to: Type.Optional(Timestamp),
  step: Type.Optional(Type.Integer({ description: 'seconds per point; default and minimum depend on the range' })),
  /** The seed's `limit` (number of records): each series keeps only its newest `limit` points. */
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 20_000, description: 'keep only the newest limit points of each series (the seed\'s "number of records")' })),
});
export type MetricsHistoryQuery = Static<typeof MetricsHistoryQuery>;

export const MetricsHistory = Type.Object({
  entity: Type.Union([Type.Literal('host'), Type.Literal('vm')]),
  vm_id: Type.Union([Type.Integer(), Type.Null()]),
  from: Timestamp,
  to: Timestamp,
  step: Type.Integer(),
  resolution: Type.Union([Type.Literal('raw'), Type.Literal('1m'), Type.Literal('1h')], { description: 'the data the points come from' }),
  series: Type.Array(Type.Object({
    metric: Type.String(),
    points: Type.Array(Type.Object({ t: Timestamp, avg: Num, min: Num, max: Num })),
  })),
});
export type MetricsHistory = Static<typeof MetricsHistory>;

export const MetricsCleanupResult = Type.Object({ deleted: Type.Integer(), rolled_up: Type.Integer() });
export type MetricsCleanupResult = Static<typeof MetricsCleanupResult>;

export const MetricsCollectResult = Type.Object({ sampled_at: Timestamp, vms: Type.Integer() });
export type MetricsCollectResult = Static<typeof MetricsCollectResult>;

/** Pushed on the events channel every collection: host samples to admins, a VM's to its owner (and admins). */
export type MetricsStreamEvent =
  | { kind: 'metrics'; entity: 'host'; sample: HostMetrics }
  | { kind: 'metrics'; entity: 'vm'; vm_id: number; sample: VmMetrics };
