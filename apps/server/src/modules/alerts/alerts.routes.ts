import { Type } from '@sinclair/typebox';
import { Alert, AlertPolicy, AlertsQuery, CreateAlertPolicyRequest, IdParam, UpdateAlertPolicyRequest } from '@twarga/contract';
import { errorResponses } from '../../http/errors.js';
import { identityOf, type App } from '../../http/types.js';
import type { AlertsService } from './alerts.service.js';

export async function alertsRoutes(app: App, { alerts }: { alerts: AlertsService }) {
  app.get('/api/alerts/policies', {
    config: { access: 'user' },
    schema: { tags: ['alerts'], summary: 'Your alert policies (admins: also the host and system policies)', response: { 200: Type.Array(AlertPolicy), ...errorResponses } },
    handler: async (request) => alerts.listPolicies(identityOf(request)),
  });

  app.get('/api/alerts/policies/:id', {
    config: { access: 'user' },
    schema: { tags: ['alerts'], summary: 'One alert policy', params: IdParam, response: { 200: AlertPolicy, ...errorResponses } },
    handler: async (request) => alerts.getPolicy(identityOf(request), request.params.id),
  });

  app.post('/api/alerts/policies', {
    config: { access: 'user' },
    schema: {
      tags: ['alerts'],
      summary: 'Create an alert policy: a metric of your VMs (admins: of the host) against a threshold, averaged over a window',
      body: CreateAlertPolicyRequest,
      response: { 201: AlertPolicy, ...errorResponses },
    },
    handler: async (request, reply) => reply.status(201).send(await alerts.createPolicy(identityOf(request), request.body)),
  });

  app.patch('/api/alerts/policies/:id', {
    config: { access: 'user' },
    schema: { tags: ['alerts'], summary: 'Change an alert policy (its open alerts resolve when their condition changes)', params: IdParam, body: UpdateAlertPolicyRequest, response: { 200: AlertPolicy, ...errorResponses } },
    handler: async (request) => alerts.updatePolicy(identityOf(request), request.params.id, request.body),
  });

  app.delete('/api/alerts/policies/:id', {
    config: { access: 'user' },
    schema: { tags: ['alerts'], summary: 'Delete an alert policy (its open alerts resolve; past alerts stay)', params: IdParam, response: { 204: Type.Null(), ...errorResponses } },
    handler: async (request, reply) => {
      await alerts.deletePolicy(identityOf(request), request.params.id);
      return reply.status(204).send(null);
    },
  });

  app.get('/api/metrics/alerts', {
    config: { access: 'user' },
    schema: { tags: ['alerts'], summary: 'Alerts, newest first: of your VMs (admins: all, host alerts included)', querystring: AlertsQuery, response: { 200: Type.Array(Alert), ...errorResponses } },
    handler: async (request) => alerts.listAlerts(identityOf(request), request.query),
  });
}
