import { Health } from '@twarga/contract';
import type { DatabaseHandle } from '../../db/database.js';
import type { App } from '../../http/types.js';

export async function healthRoutes(app: App, { database, version }: { database: DatabaseHandle; version: string }) {
  app.get('/health', {
    config: { access: 'public' },
    schema: { tags: ['system'], summary: 'Liveness and database check', response: { 200: Health, 503: Health } },
    handler: async (_request, reply) => {
      const ok = await database.ping();
      return reply.status(ok ? 200 : 503).send({
        status: ok ? 'healthy' : 'unhealthy',
        database: ok ? 'ok' : 'error',
        database_kind: database.kind,
        version,
        uptime_seconds: Math.round(process.uptime()),
        timestamp: new Date().toISOString(),
      });
    },
  });
}
