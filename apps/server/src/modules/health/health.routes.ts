import { Health } from '@twarga/contract';
import type { App } from '../../http/types.js';
import type { HealthService } from './health.service.js';

export async function healthRoutes(app: App, { health }: { health: HealthService }) {
  app.get('/health', {
    config: { access: 'public' },
    schema: {
      tags: ['system'],
      summary: 'Liveness: database read and write, free space in the data dir',
      description: 'status is the worst check: healthy, degraded (works; act soon) or failed (HTTP 503).',
      response: { 200: Health, 503: Health },
    },
    handler: async (_request, reply) => {
      const report = await health.check();
      return reply.status(report.status === 'failed' ? 503 : 200).send(report);
    },
  });
}
