import type { FastifyInstance } from 'fastify';
import type { EventLog } from '../modules/events/event-log.js';
import type { Blocklist } from '../modules/soc/ports.js';
import { normalizeAddress } from '../lib/ip-address.js';
import { AppError } from './errors.js';

/**
 * Control-plane blocks, enforced on every request before anything else runs (authentication,
 * rate limits, routing's own 404s): the API, the web pages, the terminal and event-stream
 * websockets, and /health too. A blocked address learns nothing, not even that the server is up;
 * health probes come from loopback or the orchestrator's network, which a block does not name.
 * The caller's address is request.ip: with TWARGA_TRUST_PROXY, the client's behind the proxy.
 * Each refusal is a security event; repeats fold into one row (the event log's repeat folding),
 * so the message and details hold nothing that changes per request.
 */
export function registerBlockedAddresses(app: FastifyInstance, deps: { blocklist: Pick<Blocklist, 'blocksControlPlane'>; events: Pick<EventLog, 'record'> }): void {
  app.addHook('onRequest', (request, reply, done) => {
    const address = normalizeAddress(request.ip);
    if (!deps.blocklist.blocksControlPlane(address)) return done();
    // A websocket upgrade refused this early never reaches the websocket plugin's own hooks, which
    // would close its socket after the answer: close it here, or it stays open (and server close waits).
    if (request.headers.upgrade) reply.raw.once('finish', () => request.raw.socket?.destroy());
    void deps.events.record({
      type: 'security',
      severity: 'warning',
      action: 'soc.request_refused',
      message: `Request from ${address} refused: the address is blocked on the control plane`,
      sourceIp: address,
      details: { scope: 'control_plane' },
    });
    done(new AppError(403, 'address_blocked', 'Your address is blocked'));
  });
}
