import { HostMetrics, IdParam, MetricsCleanupResult, MetricsCollectResult, MetricsHistory, MetricsHistoryQuery, VmMetrics } from '@twarga/contract';
import { errorResponses } from '../../http/errors.js';
import { identityOf, type App } from '../../http/types.js';
import type { MetricsService } from './metrics.service.js';

export async function metricsRoutes(app: App, { metrics, hostForUsers }: { metrics: MetricsService; hostForUsers: boolean }) {
  const hostAccess = hostForUsers ? 'user' : 'admin';
  app.get('/api/metrics/host', {
    config: { access: hostAccess },
    schema: { tags: ['metrics'], summary: "The host's latest metrics (CPU, load, memory, swap, data dir's disk, disk I/O, network, uptime)", response: { 200: HostMetrics, ...errorResponses } },
    handler: async () => metrics.host(),
  });

  app.get('/api/metrics/host/history', {
    config: { access: hostAccess },
    schema: { tags: ['metrics'], summary: 'Host metric history: raw samples, 1-minute or hourly rollups, chosen by range', querystring: MetricsHistoryQuery, response: { 200: MetricsHistory, ...errorResponses } },
    handler: async (request) => metrics.hostHistory(request.query),
  });

  app.get('/api/metrics/vm/:id', {
    config: { access: 'user' },
    schema: { tags: ['metrics'], summary: "A VM's latest metrics, each value with its source (null: nobody can give it)", params: IdParam, response: { 200: VmMetrics, ...errorResponses } },
    handler: async (request) => metrics.vm(identityOf(request), request.params.id),
  });

  app.get('/api/metrics/vm/:id/history', {
    config: { access: 'user' },
    schema: { tags: ['metrics'], summary: 'VM metric history', params: IdParam, querystring: MetricsHistoryQuery, response: { 200: MetricsHistory, ...errorResponses } },
    handler: async (request) => metrics.vmHistory(identityOf(request), request.params.id, request.query),
  });

  app.post('/api/metrics/collect', {
    config: { access: 'admin' },
    schema: { tags: ['metrics'], summary: 'Take a sample of the host and every running VM now', response: { 200: MetricsCollectResult, ...errorResponses } },
    handler: async () => metrics.collect(),
  });

  app.delete('/api/metrics/cleanup', {
    config: { access: 'admin' },
    schema: { tags: ['metrics'], summary: 'Run the rollups and delete samples past their retention now', response: { 200: MetricsCleanupResult, ...errorResponses } },
    handler: async () => metrics.cleanup(),
  });
}
