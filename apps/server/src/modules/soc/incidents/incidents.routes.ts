import { Type } from '@sinclair/typebox';
import { IdParam, IncidentAction, IncidentBlockRequest, IncidentQuery, SocBlock, SocIncident, SocIncidentDetail } from '@twarga/contract';
import { errorResponses } from '../../../http/errors.js';
import { identityOf, type App } from '../../../http/types.js';
import type { BlocksService } from '../blocks/blocks.service.js';
import { noteAudit } from '../../audit/audit-note.js';
import type { IncidentsService } from './incidents.service.js';

export async function socIncidentsRoutes(app: App, { incidents, blocks }: { incidents: IncidentsService; blocks: BlocksService }) {
  app.get('/api/soc/incidents', {
    config: { access: 'user' },
    schema: { tags: ['soc'], summary: 'Incidents, newest first: about your VMs and account (admins: all)', querystring: IncidentQuery, response: { 200: Type.Array(SocIncident), ...errorResponses } },
    handler: async (request) => incidents.list(identityOf(request), request.query),
  });

  app.get('/api/soc/incidents/:id', {
    config: { access: 'user' },
    schema: { tags: ['soc'], summary: 'One incident with its history and the ids of its events', params: IdParam, response: { 200: SocIncidentDetail, ...errorResponses } },
    handler: async (request) => incidents.get(identityOf(request), request.params.id),
  });

  app.post('/api/soc/incidents/:id/actions', {
    // An admin acting on anyone's incident goes to the audit log.
    config: { access: 'user', audit: true },
    schema: {
      tags: ['soc'],
      summary: 'Acknowledge, resolve, mark as false positive, reopen and/or comment on an incident (its owner or an admin)',
      params: IdParam,
      body: IncidentAction,
      response: { 200: SocIncidentDetail, ...errorResponses },
    },
    handler: async (request) => {
      noteAudit(request, { action: 'soc.incident_updated', target: { type: 'incident', id: request.params.id } });
      const after = await incidents.act(identityOf(request), request.params.id, request.body);
      noteAudit(request, { target: { type: 'incident', id: request.params.id, label: after.title }, after: { status: after.status } });
      return after;
    },
  });

  app.post('/api/soc/incidents/:id/block', {
    config: { access: 'user', audit: true },
    schema: {
      tags: ['soc'],
      summary: "Block the incident's source address (owners: on the incident's VM, scope vm; admins: any scope)",
      params: IdParam,
      body: IncidentBlockRequest,
      response: { 201: SocBlock, ...errorResponses },
    },
    handler: async (request, reply) => {
      noteAudit(request, { action: 'soc.incident_blocked', target: { type: 'incident', id: request.params.id } });
      const block = await blocks.blockIncident(identityOf(request), request.params.id, request.body, request.ip);
      noteAudit(request, { after: block });
      return reply.status(201).send(block);
    },
  });
}
