import type { StreamEvent } from '@twarga/contract';
import { EVERY_USER, type LiveBus } from '../../operations/live-bus.js';
import { identityOf, type App } from '../../http/types.js';
import type { LiveAccess } from '../auth/live-access.js';
import type { EventLog } from './event-log.js';

const HEARTBEAT_MS = 25_000;

/**
 * The one live channel (server-sent events): VM, action and later metric and security events.
 * A user receives their own; an admin receives everyone's. The UI invalidates its cache on them.
 * The stream lasts only as long as the login and the rights it was opened with: on logout, a
 * revoked session or token, a password change, a disabled account or (for an admin's stream)
 * lost admin rights, it sends a final `revoked` event and ends.
 */
export async function streamRoutes(app: App, { bus, access, events }: { bus: LiveBus; access: LiveAccess; events: EventLog }) {
  app.get('/api/events/stream', {
    config: { access: 'user' },
    schema: { tags: ['events'], summary: 'Live events (text/event-stream); ends with a `revoked` event when the login or rights behind it go' },
    handler: async (request, reply) => {
      const identity = identityOf(request);
      const { user } = identity;
      const asAdmin = user.is_admin;
      const watch = access.watch({ userId: user.id, credentialHash: identity.credentialHash, via: identity.via }, (fresh) =>
        asAdmin && !fresh.user.is_admin ? 'your administrator rights were removed' : undefined,
      );
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      const send = (data: StreamEvent) => res.write(`data: ${JSON.stringify(data)}\n\n`);
      send({ kind: 'hello', user_id: user.id });
      // While a re-check runs (the user just changed), events wait: none may reach someone who lost the right to it.
      let held: StreamEvent[] = [];
      // Cluster-wide: a browser on any server process sees what happens through every other one.
      const unsubscribe = bus.subscribeCluster(({ ownerId, event }) => {
        if (ownerId !== user.id && ownerId !== EVERY_USER && !asAdmin) return;
        if (watch.checking) held.push(event);
        else send(event);
      });
      watch.onPassed(() => {
        const out = held;
        held = [];
        for (const e of out) send(e);
      });
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
      const cleanup = () => {
        clearInterval(heartbeat);
        unsubscribe();
        watch.stop();
      };
      watch.onRevoked((r) => {
        held = [];
        cleanup();
        send({ kind: 'revoked', reason: r.cause, message: r.message });
        res.end();
        void events.record({
          type: r.cause === 'right' ? 'security' : 'auth', severity: r.cause === 'right' ? 'warning' : 'info', action: 'stream.revoked', message: `Live event stream of ${user.username} ended: ${r.message}`,
          userId: user.id, username: user.username, sourceIp: request.ip, details: { cause: r.cause, via: identity.via, as_admin: asAdmin },
        });
      });
      request.raw.on('close', cleanup);
      // The identity may come from a cache a change has not reached yet: confirm it once now.
      void watch.check();
    },
  });
}
