import { Type } from '@sinclair/typebox';
import { Action, AdminVm, AdminVmActionRequest, AdminVmsQuery, EmergencyStopAllRequest, EmergencyStopRequest, EmergencyStopResult, IdParam } from '@twarga/contract';
import { contextOf, identityOf, type App } from '../../http/types.js';
import { errorResponses } from '../../http/errors.js';
import { noteAudit } from '../audit/audit-note.js';
import type { AdminVmsService } from './admin-vms.service.js';
import { noteFor } from './admin-views.js';

/** The admin's VM routes: every user's VMs, stop/destroy of one, emergency stops. */
export async function adminVmsRoutes(app: App, { vms }: { vms: AdminVmsService }) {
  app.get('/api/admin/vms', {
    config: { access: 'admin' },
    schema: {
      tags: ['admin'],
      summary: "Every user's live VMs with owner and host; filters owner_id, host_id, status, health, q; X-Total-Count says how many match",
      querystring: AdminVmsQuery,
      response: { 200: Type.Array(AdminVm), ...errorResponses },
    },
    handler: async (request, reply) => {
      const { vms: page, total } = await vms.list(request.query);
      reply.header('x-total-count', String(total));
      return page;
    },
  });

  app.post('/api/admin/vms/:id/action', {
    config: { access: 'admin' },
    schema: {
      tags: ['admin'],
      summary: "Stop or destroy anyone's VM (asynchronous: follow the action)",
      params: IdParam,
      body: AdminVmActionRequest,
      response: { 202: Action, ...errorResponses },
    },
    handler: async (request, reply) => {
      noteAudit(request, { action: `vm.admin_${request.body.action}` });
      return reply.status(202).send(await vms.act(identityOf(request), request.params.id, request.body, contextOf(request), noteFor(request)));
    },
  });

  app.post('/api/admin/users/:id/emergency-stop', {
    config: { access: 'admin' },
    schema: {
      tags: ['admin'],
      summary: 'Force-stop every running VM of one user; VMs another action holds are reported as skipped',
      params: IdParam,
      body: EmergencyStopRequest,
      response: { 200: EmergencyStopResult, ...errorResponses },
    },
    // The body (a reason) is optional: a bare POST is an empty one.
    preValidation: async (request) => {
      request.body ??= {};
    },
    handler: async (request) => {
      noteAudit(request, { action: 'user.emergency_stop' });
      return vms.emergencyStopUser(identityOf(request), request.params.id, request.body?.reason, contextOf(request), noteFor(request));
    },
  });

  app.post('/api/admin/emergency-stop-all', {
    config: { access: 'admin' },
    schema: {
      tags: ['admin'],
      summary: 'Force-stop every running VM on the service; confirm must be the exact phrase',
      body: EmergencyStopAllRequest,
      response: { 200: EmergencyStopResult, ...errorResponses },
    },
    handler: async (request) => {
      noteAudit(request, { action: 'emergency_stop_all' });
      return vms.emergencyStopAll(identityOf(request), request.body.confirm, request.body.reason, contextOf(request), noteFor(request));
    },
  });
}
