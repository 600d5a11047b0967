import { HostMetricNames, VmMetricNames, type HostMetrics, type MetricsHistory, type VmMetrics } from '@twarga/contract';
import { notFound } from '../../http/errors.js';
import type { Clock } from '../../lib/time.js';
import type { Identity } from '../auth/identity.js';
import type { VmsRepository } from '../vms/vms.repository.js';
import type { MetricsCollector } from './collector.js';
import { bucketSeries, planHistory, resolutionName, type Retention } from './history.js';
import type { HostSampler } from './host-sampler.js';
import type { MetricsRepository } from './metrics.repository.js';

export interface HistoryQuery {
  /** Optional in the schema so that a VM the caller cannot see is a 404 before any 400. None named: every metric of the entity (the seed's history takes none). */
  metric?: string[];
  /** The seed's name for metric (?metric_name=cpu_percent); merged with it. */
  metric_name?: string[];
  range?: string;
  from?: string;
  to?: string;
  step?: number;
  /** The seed's limit: only the newest `limit` points of each series. */
  limit?: number;
}

/** Current values, history and the admin's collect/cleanup. GETs only read. */
export class MetricsService {
  constructor(
    private readonly d: { repo: MetricsRepository; collector: MetricsCollector; hostSampler: HostSampler; vms: VmsRepository; clock: Clock; retention: Retention },
  ) {}

  /** The collector's last host sample; before the first, a fresh reading (rates null) that changes nothing. */
  async host(): Promise<HostMetrics> {
    return this.d.collector.host() ?? this.d.hostSampler.sample(this.d.clock.now(), false);
  }

  private async visibleVm(identity: Identity, id: number) {
    const row = await this.d.vms.find(id);
    if (!row || (row.user_id !== identity.user.id && !identity.user.is_admin)) throw notFound('VM');
    return row;
  }

  async vm(identity: Identity, id: number): Promise<VmMetrics> {
    const row = await this.visibleVm(identity, id);
    const s = this.d.collector.vm(id);
    if (s && row.status === 'running' && !row.destroyed_at) return s;
    const none = { value: null, source: null };
    // Not running or not sampled yet: nothing measured, so nothing invented.
    return {
      vm_id: id, sampled_at: null, cpu_usage: null, memory_usage: null, disk_usage: null, uptime: null, ip_address: row.ip_address,
      cpu_percent: none, memory_rss_bytes: none, guest_memory_used_bytes: none, guest_memory_total_bytes: none, fs_used_bytes: none, fs_total_bytes: none,
      disk_read_bytes_per_sec: none, disk_write_bytes_per_sec: none, disk_read_iops: none, disk_write_iops: none, net_rx_bytes_per_sec: none, net_tx_bytes_per_sec: none,
      ip: row.ip_address ? { value: row.ip_address, source: 'host' } : none, guest_agent: null,
    };
  }

  async hostHistory(q: HistoryQuery): Promise<MetricsHistory> {
    return this.history('host', 0, q);
  }

  async vmHistory(identity: Identity, id: number, q: HistoryQuery): Promise<MetricsHistory> {
    await this.visibleVm(identity, id);
    return this.history('vm', id, q);
  }

  private async history(entity: 'host' | 'vm', entityId: number, q: HistoryQuery): Promise<MetricsHistory> {
    const nowSec = Math.floor(this.d.clock.now().getTime() / 1000);
    const { metric_name, limit, ...rest } = q;
    const named = [...(q.metric ?? []), ...(metric_name ?? [])];
    const metric = named.length ? named : [...(entity === 'host' ? HostMetricNames : VmMetricNames)];
    const plan = planHistory(entity, { ...rest, metric }, nowSec, this.d.retention);
    const points = await this.d.repo.points(entity, entityId, plan.resolution, plan.from, plan.to, plan.metrics);
    const series = bucketSeries(plan, points);
    return {
      entity, vm_id: entity === 'vm' ? entityId : null,
      from: new Date(plan.from * 1000).toISOString(), to: new Date(plan.to * 1000).toISOString(),
      step: plan.step, resolution: resolutionName(plan.resolution),
      series: limit ? series.map((s) => ({ ...s, points: s.points.slice(-limit) })) : series,
    };
  }

  async collect(): Promise<{ sampled_at: string; vms: number }> {
    const r = await this.d.collector.pass();
    return { sampled_at: r.sampledAt.toISOString(), vms: r.vms };
  }

  async cleanup(): Promise<{ deleted: number; rolled_up: number }> {
    const r = await this.d.collector.maintain(this.d.clock.now());
    return { deleted: r.deleted, rolled_up: r.rolledUp };
  }
}
