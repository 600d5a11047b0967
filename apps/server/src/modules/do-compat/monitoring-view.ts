import { AlertWindows, type AlertPolicy, type AlertWindow, type CreateAlertPolicyRequest, type MetricsHistory, type VmAlertMetric, type VmMetricName } from '@twarga/contract';
import { unprocessable } from './do-http.js';

// ------------------------------------------------------------------ metrics

/** DO's droplet metrics we serve, from what our collector stores (modules/metrics). */
export interface DoMetricPlan {
  /** Our stored metrics the value is computed from. */
  metrics: VmMetricName[];
  /** The DO value from one bucket's averages; null when an input is missing at that time. */
  value(v: Partial<Record<VmMetricName, number>>): number | null;
  /** Extra Prometheus labels besides host_id. */
  labels: Record<string, string>;
}

/** Bytes per second → megabits per second (DO's bandwidth unit). */
const MBPS = 8 / 1e6;

/**
 * Metrics we do not collect, and why: answering them would mean inventing data. DO's cpu is
 * node_cpu_seconds_total (cumulative CPU seconds per mode, from its agent inside the droplet); we
 * measure the VM's CPU from the host, as one busy percentage, with no modes and no counter. The
 * guest agent reports total and available memory and the root filesystem, not free/cached
 * memory nor the load average.
 */
export const UNSERVED_METRICS: Record<string, string> = {
  cpu: 'cpu (cumulative CPU seconds per mode) is not collected: VMs are measured from the host as one busy percentage (GET /api/vms/{id}/metrics/history?metric=cpu_percent)',
  memory_free: 'memory_free is not collected: the guest agent reports total and available memory only (use memory_available)',
  memory_cached: 'memory_cached is not collected: the guest agent reports total and available memory only (use memory_available)',
  load_1: "load_1 is not collected: a VM's load average is not reported by its guest agent",
  load_5: "load_5 is not collected: a VM's load average is not reported by its guest agent",
  load_15: "load_15 is not collected: a VM's load average is not reported by its guest agent",
};

const both = (a: number | undefined, b: number | undefined, f: (a: number, b: number) => number) => (a === undefined || b === undefined ? null : f(a, b));

/** How a DO droplet metric is served; throws a DO 422 for what we cannot serve truthfully. */
export function doMetricPlan(name: string, q: { interface?: string; direction?: string }): DoMetricPlan {
  if (name in UNSERVED_METRICS) throw unprocessable(UNSERVED_METRICS[name]!);
  switch (name) {
    case 'memory_total':
      return { metrics: ['guest_memory_total_bytes'], value: (v) => v.guest_memory_total_bytes ?? null, labels: {} };
    case 'memory_available':
      // used is stored as total − available (the balloon's stat-available-memory): available = total − used, exactly.
      return { metrics: ['guest_memory_total_bytes', 'guest_memory_used_bytes'], value: (v) => both(v.guest_memory_total_bytes, v.guest_memory_used_bytes, (t, u) => t - u), labels: {} };
    case 'filesystem_size':
      return { metrics: ['fs_total_bytes'], value: (v) => v.fs_total_bytes ?? null, labels: { mountpoint: '/' } };
    case 'filesystem_free':
      return { metrics: ['fs_total_bytes', 'fs_used_bytes'], value: (v) => both(v.fs_total_bytes, v.fs_used_bytes, (t, u) => t - u), labels: { mountpoint: '/' } };
    case 'bandwidth': {
      if (q.interface !== 'public' && q.interface !== 'private') throw unprocessable('interface must be public or private');
      if (q.direction !== 'inbound' && q.direction !== 'outbound') throw unprocessable('direction must be inbound or outbound');
      // One virtual NIC per VM, no separate private network: its traffic is the public interface's.
      if (q.interface === 'private') throw unprocessable('interface private: VMs here have one network interface, served as interface=public');
      const metric = q.direction === 'inbound' ? 'net_rx_bps' : 'net_tx_bps';
      return { metrics: [metric], value: (v) => (v[metric] === undefined ? null : v[metric]! * MBPS), labels: { interface: q.interface, direction: q.direction } };
    }
    default:
      throw unprocessable(`Unknown droplet metric ${name}`);
  }
}

/** Our history as a Prometheus range answer (what godo's MetricsResponse decodes). */
export function toPrometheusMatrix(hostId: number, plan: DoMetricPlan, history: MetricsHistory) {
  const byTime = new Map<string, Partial<Record<VmMetricName, number>>>();
  for (const s of history.series) {
    for (const p of s.points) {
      if (p.avg === null) continue;
      const at = byTime.get(p.t) ?? {};
      at[s.metric as VmMetricName] = p.avg;
      byTime.set(p.t, at);
    }
  }
  const values: [number, string][] = [];
  for (const [t, v] of [...byTime.entries()].sort(([a], [b]) => Date.parse(a) - Date.parse(b))) {
    const value = plan.value(v);
    if (value !== null) values.push([Date.parse(t) / 1000, String(value)]);
  }
  // No stored sample in the range: no series, as Prometheus answers.
  const result = values.length ? [{ metric: { host_id: String(hostId), ...plan.labels }, values }] : [];
  return { status: 'success' as const, data: { resultType: 'matrix' as const, result } };
}

// ------------------------------------------------------------------ alert policies

/** DO's alert policy (godo monitoring.go AlertPolicy). */
export interface DoAlertPolicy {
  uuid: string;
  type: string;
  description: string;
  /** GreaterThan or LessThan. */
  compare: string;
  value: number;
  window: string;
  entities: string[];
  tags: string[];
  alerts: { email: string[]; slack: { url: string; channel: string }[] };
  enabled: boolean;
}

/** DO alert types ↔ our VM policy metrics, with the factor from DO's unit to ours. */
const TYPES: Record<string, { metric: VmAlertMetric; factor: number }> = {
  'v1/insights/droplet/cpu': { metric: 'cpu_percent', factor: 1 },
  'v1/insights/droplet/memory_utilization_percent': { metric: 'memory_percent', factor: 1 },
  'v1/insights/droplet/disk_utilization_percent': { metric: 'fs_percent', factor: 1 },
  // DO: megabits per second; ours: bytes per second.
  'v1/insights/droplet/public_inbound_bandwidth': { metric: 'net_rx_bps', factor: 1e6 / 8 },
  'v1/insights/droplet/public_outbound_bandwidth': { metric: 'net_tx_bps', factor: 1e6 / 8 },
  // DO: megabytes per second; ours: bytes per second.
  'v1/insights/droplet/disk_read': { metric: 'disk_read_bps', factor: 1e6 },
  'v1/insights/droplet/disk_write': { metric: 'disk_write_bps', factor: 1e6 },
};
const TYPE_OF = new Map(Object.entries(TYPES).map(([type, t]) => [t.metric as string, { type, factor: t.factor }]));

/** Our policies DO can see: VM policies (DO has no host entity). All VM metrics have a DO type. */
export const isDoVisible = (p: AlertPolicy) => p.entity === 'vm' && TYPE_OF.has(p.metric);

export function toDoAlertPolicy(p: AlertPolicy): DoAlertPolicy {
  const t = TYPE_OF.get(p.metric)!;
  return {
    uuid: String(p.id),
    type: t.type,
    description: p.description,
    compare: p.compare,
    // Round off the float noise of a unit conversion (1.5 Mbit/s stays 1.5).
    value: Number((p.value / t.factor).toPrecision(12)),
    window: p.window,
    entities: p.vm_ids.map(String),
    tags: [],
    // Notifications go to the owner's channels (/api/notifications/channels), not to addresses given here.
    alerts: { email: [], slack: [] },
    enabled: p.enabled,
  };
}

export interface DoAlertPolicyInput {
  type: string;
  description?: string;
  compare: string;
  value: number;
  window: string;
  entities?: string[];
  tags?: string[];
  alerts?: { email?: string[]; slack?: unknown[] };
  enabled?: boolean;
}

/** A DO policy request as ours; what we cannot honour is a 422, never silently dropped. */
export function fromDoAlertPolicy(input: DoAlertPolicyInput): Omit<CreateAlertPolicyRequest, 'entity'> & { entity: 'vm' } {
  const t = TYPES[input.type];
  if (!t) throw unprocessable(`Unsupported alert type ${input.type}: supported are ${Object.keys(TYPES).join(', ')}`);
  if (input.compare !== 'GreaterThan' && input.compare !== 'LessThan') throw unprocessable('compare must be GreaterThan or LessThan');
  if (!(AlertWindows as readonly string[]).includes(input.window)) throw unprocessable(`window must be one of ${AlertWindows.join(', ')}`);
  if (input.tags?.length) throw unprocessable('Alert policies by tag are not supported: list the droplet ids in entities (empty: all your droplets)');
  if (input.alerts?.email?.length || input.alerts?.slack?.length) {
    throw unprocessable('Notification targets are not set per policy here: a policy notifies your notification channels (/api/notifications/channels); send alerts {"email": [], "slack": []}');
  }
  const vmIds = (input.entities ?? []).map((e) => {
    if (!/^[0-9]{1,15}$/.test(e)) throw unprocessable(`entities must be droplet ids, got ${JSON.stringify(e)}`);
    return Number(e);
  });
  return {
    entity: 'vm',
    metric: t.metric,
    compare: input.compare,
    value: input.value * t.factor,
    window: input.window as AlertWindow,
    vm_ids: vmIds,
    description: input.description ?? '',
    enabled: input.enabled ?? true,
  };
}
