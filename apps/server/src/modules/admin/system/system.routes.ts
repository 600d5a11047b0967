import { AdminHealth, AdminStatistics } from '@twarga/contract';
import { errorResponses } from '../../../http/errors.js';
import type { App } from '../../../http/types.js';
import type { AdminStatisticsService } from './statistics.js';
import type { SystemHealth } from './system-health.js';

export async function systemRoutes(app: App, { health, statistics }: { health: SystemHealth; statistics: AdminStatisticsService }) {
  app.get('/api/admin/health', {
    config: { access: 'admin' },
    schema: {
      tags: ['admin'],
      summary: 'Every component (database, data dir, compute hosts, background jobs, syslog receiver, server) judged healthy, degraded or failed',
      description: 'status is the worst component. Always HTTP 200 (the report is the answer); hosts that do not answer in time are reported unreachable.',
      response: { 200: AdminHealth, ...errorResponses },
    },
    handler: async () => health.check(),
  });

  app.get('/api/admin/statistics', {
    config: { access: 'admin' },
    schema: {
      tags: ['admin'],
      summary: 'Users, VMs, credits (outstanding, burn rate, charged and granted this month), events of the last 24 h, and the system health',
      response: { 200: AdminStatistics, ...errorResponses },
    },
    handler: async () => statistics.get(),
  });
}
