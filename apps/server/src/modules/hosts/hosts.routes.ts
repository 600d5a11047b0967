import { Type } from '@sinclair/typebox';
import { Action, ComputeHost, ComputeHostDetail, CreateHostRequest, IdParam, MigrateVmRequest, UpdateHostRequest } from '@twarga/contract';
import { errorResponses } from '../../http/errors.js';
import { identityOf, type App } from '../../http/types.js';
import { noteAudit } from '../audit/audit-note.js';
import type { ColdMigrationService } from './cold-migration.js';
import type { HostsService } from './hosts.service.js';

export async function hostsRoutes(app: App, { hosts, migration }: { hosts: HostsService; migration: ColdMigrationService }) {
  app.get('/api/admin/hosts', {
    config: { access: 'admin' },
    schema: { tags: ['admin'], summary: 'Compute hosts with what their live VMs use', response: { 200: Type.Array(ComputeHost), ...errorResponses } },
    handler: async () => hosts.list(),
  });

  app.get('/api/admin/hosts/:id', {
    config: { access: 'admin' },
    schema: { tags: ['admin'], summary: 'A compute host and the VMs still on it (what draining it leaves to move)', params: IdParam, response: { 200: ComputeHostDetail, ...errorResponses } },
    handler: async (request) => hosts.detail(request.params.id),
  });

  app.post('/api/admin/hosts', {
    config: { access: 'admin' },
    schema: { tags: ['admin'], summary: 'Add a compute host (libvirt by URI; qemu/vagrant on this machine)', body: CreateHostRequest, response: { 201: ComputeHost, ...errorResponses } },
    handler: async (request, reply) => {
      noteAudit(request, { action: 'host.created', target: { type: 'host', id: request.body.name, label: request.body.name } });
      const host = await hosts.create(identityOf(request), request.body, request.ip);
      noteAudit(request, { target: { type: 'host', id: host.id, label: host.name }, after: host });
      return reply.status(201).send(host);
    },
  });

  app.patch('/api/admin/hosts/:id', {
    config: { access: 'admin' },
    schema: { tags: ['admin'], summary: 'Rename, resize, enable/disable or drain a host', params: IdParam, body: UpdateHostRequest, response: { 200: ComputeHost, ...errorResponses } },
    handler: async (request) => {
      const before = await hosts.get(request.params.id).catch(() => undefined);
      noteAudit(request, { action: 'host.updated', target: { type: 'host', id: request.params.id, label: before?.name }, before });
      const after = await hosts.update(identityOf(request), request.params.id, request.body, request.ip);
      noteAudit(request, { after });
      return after;
    },
  });

  app.delete('/api/admin/hosts/:id', {
    config: { access: 'admin' },
    schema: { tags: ['admin'], summary: 'Remove a host that has no VMs', params: IdParam, response: { 204: Type.Null(), ...errorResponses } },
    handler: async (request, reply) => {
      const before = await hosts.get(request.params.id).catch(() => undefined);
      noteAudit(request, { action: 'host.deleted', target: { type: 'host', id: request.params.id, label: before?.name }, before });
      await hosts.remove(identityOf(request), request.params.id, request.ip);
      return reply.status(204).send(null);
    },
  });

  app.post('/api/admin/vms/:id/migrate', {
    config: { access: 'admin' },
    schema: {
      tags: ['admin'], summary: 'Cold-migrate a stopped VM to another libvirt host: its migrate action copies and verifies the volumes, then re-defines the VM there',
      params: IdParam, body: MigrateVmRequest, response: { 202: Action, ...errorResponses },
    },
    handler: async (request, reply) => {
      noteAudit(request, { action: 'vm.migrated', target: { type: 'vm', id: request.params.id }, details: { to_host: request.body.host } });
      const action = await migration.migrate(identityOf(request), request.params.id, request.body.host, request.ip);
      noteAudit(request, { details: { to_host: request.body.host, action_id: action.id } });
      return reply.status(202).send(action);
    },
  });
}
