import { createReadStream } from 'node:fs';
import { Type } from '@sinclair/typebox';
import { EndedSessions, StartTerminalRequest, TERMINAL_WEBSOCKET_PATH, TerminalSession, TerminalTicket, VmTerminalSessions } from '@twarga/contract';
import { errorResponses } from '../../http/errors.js';
import { identityOf, type App } from '../../http/types.js';
import { noteAudit } from '../audit/audit-note.js';
import type { EventLog } from '../events/event-log.js';
import { acceptTerminalSocket } from './terminal-gateway.js';
import type { TerminalService } from './terminal.service.js';

const VmIdParam = Type.Object({ vm_id: Type.Integer({ minimum: 1 }) });
const SessionIdParam = Type.Object({ id: Type.Integer({ minimum: 1 }) });

export async function terminalRoutes(app: App, { terminal, events }: { terminal: TerminalService; events: EventLog }) {
  app.post('/api/terminal/start/:vm_id', {
    config: { access: 'user' },
    schema: {
      tags: ['terminal'],
      summary: `A single-use ticket (valid seconds) for the terminal websocket at ${TERMINAL_WEBSOCKET_PATH}`,
      params: VmIdParam,
      body: Type.Optional(StartTerminalRequest),
      response: { 201: TerminalTicket, ...errorResponses },
    },
    handler: async (request, reply) => reply.status(201).send(await terminal.issueTicket(identityOf(request), request.params.vm_id, request.body ?? {}, request.ip)),
  });

  app.delete('/api/terminal/stop/:vm_id', {
    config: { access: 'user' },
    schema: { tags: ['terminal'], summary: 'End every live terminal session on the VM', params: VmIdParam, response: { 200: EndedSessions, ...errorResponses } },
    handler: async (request) => ({ ended: await terminal.stopForVm(identityOf(request), request.params.vm_id, request.ip) }),
  });

  app.get('/api/terminal/session/:vm_id', {
    config: { access: 'user' },
    schema: { tags: ['terminal'], summary: "The VM's live and recent terminal sessions", params: VmIdParam, response: { 200: VmTerminalSessions, ...errorResponses } },
    handler: async (request) => terminal.forVm(identityOf(request), request.params.vm_id),
  });

  app.get('/api/terminal/sessions', {
    config: { access: 'user' },
    schema: { tags: ['terminal'], summary: 'Live sessions: yours and those on your VMs (admins: all)', response: { 200: Type.Array(TerminalSession), ...errorResponses } },
    handler: async (request) => terminal.listLive(identityOf(request)),
  });

  app.delete('/api/terminal/sessions/:id', {
    // An admin ending anyone's session goes to the audit log.
    config: { access: 'user', audit: true },
    schema: { tags: ['terminal'], summary: 'End one live session (its user, the VM owner, or an admin)', params: SessionIdParam, response: { 204: Type.Null(), ...errorResponses } },
    handler: async (request, reply) => {
      noteAudit(request, { action: 'terminal.session_ended', target: { type: 'terminal_session', id: request.params.id } });
      await terminal.endSession(identityOf(request), request.params.id, request.ip);
      return reply.status(204).send(null);
    },
  });

  app.get('/api/terminal/recordings/:id', {
    config: { access: 'user' },
    schema: { tags: ['terminal'], summary: "A session's asciicast v2 recording (application/x-asciicast)", params: SessionIdParam },
    handler: async (request, reply) => {
      const file = await terminal.recordingFile(identityOf(request), request.params.id);
      return reply
        .type('application/x-asciicast')
        .header('content-disposition', `attachment; filename="twarga-session-${request.params.id}.cast"`)
        .header('cache-control', 'private, no-store')
        .send(createReadStream(file));
    },
  });

  // The ticket is the credential (checked in the gateway), so the route itself is public.
  app.get(TERMINAL_WEBSOCKET_PATH, { websocket: true, config: { access: 'public' } }, (socket, request) =>
    acceptTerminalSocket(socket, request, terminal, events),
  );
}
