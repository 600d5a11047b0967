import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../../config/config.js';
import type { Db } from '../../db/database.js';
import type { Clock } from '../../lib/time.js';
import type { ComputeRegistry } from '../../compute/registry.js';
import type { LiveBus } from '../../operations/live-bus.js';
import type { VmsRepository } from '../vms/vms.repository.js';
import { MetricsCollector } from './collector.js';
import { HostSampler } from './host-sampler.js';
import { MetricsRepository } from './metrics.repository.js';
import { MetricsService } from './metrics.service.js';
import { PrometheusExporter } from './prometheus.js';
import { PrometheusRepository } from './prometheus.repository.js';
import { VmSampler } from './vm-sampler.js';

type MetricsConfig = Pick<
  Config,
  'dataDir' | 'metricsIntervalSeconds' | 'metricsRawRetentionHours' | 'metricsMinuteRetentionDays' | 'metricsHourRetentionDays' | 'hostMetricsForUsers' | 'prometheusAccess'
>;

/**
 * The metrics collector (built here, started by server.ts: medium tests take samples on demand),
 * the history API's service and, unless turned off, the Prometheus exporter.
 */
export function createMetrics(deps: { db: Db; config: MetricsConfig; vms: VmsRepository; drivers: ComputeRegistry; bus: LiveBus; clock: Clock; log: FastifyBaseLogger }) {
  const { config, clock } = deps;
  const retention = {
    intervalSeconds: config.metricsIntervalSeconds,
    rawSeconds: config.metricsRawRetentionHours * 3600,
    minuteSeconds: config.metricsMinuteRetentionDays * 86400,
    hourSeconds: config.metricsHourRetentionDays * 86400,
  };
  const repo = new MetricsRepository(deps.db);
  const hostSampler = new HostSampler({ dataDir: config.dataDir });
  const collector = new MetricsCollector({
    repo, vmRows: deps.vms, drivers: deps.drivers, bus: deps.bus, clock, log: deps.log, host: hostSampler, vms: new VmSampler(), retention, hostForUsers: config.hostMetricsForUsers,
  });
  const service = new MetricsService({ repo, collector, hostSampler, vms: deps.vms, clock, retention });
  const prometheus = config.prometheusAccess === 'off' ? undefined : new PrometheusExporter({ collector, repo: new PrometheusRepository(deps.db) });
  return { collector, service, prometheus };
}
