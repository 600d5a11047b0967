import type { EventBus } from '../../operations/event-bus.js';
import { identityOf, type App } from '../../http/types.js';

const HEARTBEAT_MS = 25_000;

/**
 * The one live channel (server-sent events): VM, action and later metric and security events.
 * A user receives their own; an admin receives everyone's. The UI invalidates its cache on them.
 */
export async function streamRoutes(app: App, { bus }: { bus: EventBus }) {
  app.get('/api/events/stream', {
    config: { access: 'user' },
    schema: { tags: ['events'], summary: 'Live events (text/event-stream)' },
    handler: async (request, reply) => {
      const identity = identityOf(request);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      const send = (data: unknown) => res.write(`data: ${JSON.stringify(data)}\n\n`);
      send({ kind: 'hello', user_id: identity.user.id });
      const unsubscribe = bus.subscribe(({ ownerId, event }) => {
        if (ownerId === identity.user.id || identity.user.is_admin) send(event);
      });
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
      request.raw.on('close', () => {
        clearInterval(heartbeat);
        unsubscribe();
      });
    },
  });
}
