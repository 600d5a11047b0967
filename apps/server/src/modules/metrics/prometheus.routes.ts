import type { FastifyRequest } from 'fastify';
import { AppError } from '../../http/errors.js';
import type { App } from '../../http/types.js';
import type { PrometheusExporter } from './prometheus.js';

export type PrometheusAccess = 'admin' | 'loopback' | 'off';

const isLoopback = (addr: string | undefined) => !!addr && (addr === '::1' || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(addr));

/**
 * A scraper on this machine: the TCP peer is loopback and nothing forwarded the request. A reverse
 * proxy on the same machine connects from 127.0.0.1 too; its forwarding headers give it away, so
 * /metrics is never published through it, whatever TWARGA_TRUST_PROXY says.
 */
function fromThisMachine(request: FastifyRequest): boolean {
  const h = request.headers;
  if (h['x-forwarded-for'] !== undefined || h.forwarded !== undefined || h['x-real-ip'] !== undefined) return false;
  return isLoopback(request.socket.remoteAddress);
}

/** GET /metrics. 'off' registers nothing; 'loopback' answers 404 to everyone else, as if there were no route. */
export async function prometheusRoutes(app: App, { exporter, access }: { exporter: PrometheusExporter; access: PrometheusAccess }) {
  if (access === 'off') return;
  app.get('/metrics', {
    config: { access: access === 'admin' ? 'admin' : 'public' },
    schema: {
      tags: ['metrics'],
      summary: 'Prometheus metrics (text format): host, VMs, the server itself',
      description: "TWARGA_PROMETHEUS_ACCESS: 'admin' (default) needs an admin's bearer token or session; 'loopback' answers only 127.0.0.1/::1 without credentials; 'off' removes the route.",
    },
    handler: async (request, reply) => {
      // The same answer as for a path that does not exist.
      if (access === 'loopback' && !fromThisMachine(request)) throw new AppError(404, 'not_found', `No route for ${request.method} /metrics`);
      const text = await exporter.render();
      return reply.header('cache-control', 'no-store').type(exporter.contentType).send(text);
    },
  });
}
