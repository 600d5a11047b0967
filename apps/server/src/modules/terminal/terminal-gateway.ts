import type { FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { TERMINAL_CLOSE_CODES, parseClientMessage } from '@twarga/contract';
import type { EventLog } from '../events/event-log.js';
import type {} from '../../http/origin.js'; // request.server.origins
import { refuse } from './session-opener.js';
import type { TerminalService } from './terminal.service.js';

const AUTH_DEADLINE_MS = 5_000;

/**
 * The websocket's front door. A browser page of another site is refused by Origin (a client
 * that sends none, such as the CLI, is not a browser and cannot be driven by one); the first
 * message must be an unused, unexpired ticket of the same user the request's cookie names.
 * Every refusal is a security event.
 */
export function acceptTerminalSocket(ws: WebSocket, request: FastifyRequest, terminal: TerminalService, events: EventLog): void {
  const deny = (reason: string, message: string, closeCode: number, extra: { userId?: number; vmId?: number } = {}) => {
    void events.record({
      type: 'security', severity: 'warning', action: 'terminal.denied', message: `Terminal refused: ${message}`,
      userId: extra.userId ?? request.identity?.user.id ?? null, vmId: extra.vmId ?? null, sourceIp: request.ip,
      details: { reason, origin: request.headers.origin ?? null },
    });
    refuse(ws, reason, message, closeCode);
  };

  const origin = request.headers.origin;
  // Compared with the configured public origin, not the Host header (see http/origin.ts).
  if (origin !== undefined && !request.server.origins.allows(origin)) {
    deny('origin_forbidden', `origin ${origin} is not this site`, TERMINAL_CLOSE_CODES.forbiddenOrigin);
    return;
  }
  const deadline = setTimeout(() => deny('auth_timeout', 'no ticket within 5 s', TERMINAL_CLOSE_CODES.unauthorized), AUTH_DEADLINE_MS);
  const onAuth = async (data: Buffer, isBinary: boolean) => {
    clearTimeout(deadline);
    // Hold further frames until the session listens to them.
    ws.pause();
    const msg = isBinary ? undefined : parseClientMessage(data.toString('utf8'));
    if (msg?.type !== 'auth') return deny('auth_required', 'the first message must be {"type":"auth","ticket":…}', TERMINAL_CLOSE_CODES.unauthorized);
    const redeemed = await terminal.tickets.redeem(msg.ticket).catch((err: Error) => {
      request.log.error({ err }, 'terminal ticket could not be redeemed');
      return undefined;
    });
    if (!redeemed) return refuse(ws, 'internal_error', 'the ticket could not be checked', TERMINAL_CLOSE_CODES.backendError);
    if (!redeemed.ok) {
      if (redeemed.reason === 'ticket_revoked')
        return deny('ticket_revoked', 'the login or the right to the VM behind the ticket was revoked', TERMINAL_CLOSE_CODES.accessRevoked);
      const why = { ticket_unknown: 'unknown ticket', ticket_reused: 'the ticket was already used', ticket_expired: 'the ticket expired' }[redeemed.reason];
      return deny(redeemed.reason, why, TERMINAL_CLOSE_CODES.unauthorized);
    }
    const { grant } = redeemed;
    if (request.identity && request.identity.user.id !== grant.userId) {
      grant.access.stop();
      return deny('ticket_user_mismatch', "the ticket belongs to another user", TERMINAL_CLOSE_CODES.unauthorized, { vmId: grant.vmId });
    }
    terminal.begin(grant, ws, request.ip).catch((err: Error) => {
      request.log.error({ err }, 'terminal session failed to open');
      refuse(ws, 'internal_error', 'the session could not be opened', TERMINAL_CLOSE_CODES.backendError);
    });
  };
  ws.once('message', (data, isBinary) => void onAuth(data as Buffer, isBinary));
  ws.on('close', () => clearTimeout(deadline));
}
