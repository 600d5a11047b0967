import { Type } from '@sinclair/typebox';
import { Action, CreateSnapshotRequest, IdParam, Snapshot, SnapshotList } from '@twarga/contract';
import { errorResponses } from '../../http/errors.js';
import { contextOf, identityOf, type App } from '../../http/types.js';
import type { VmsService } from '../vms/vms.service.js';
import type { SnapshotsService } from './snapshots.service.js';

export async function snapshotsRoutes(app: App, { snapshots, vms }: { snapshots: SnapshotsService; vms: VmsService }) {
  app.get('/api/vms/:id/snapshots', {
    config: { access: 'user' },
    schema: { tags: ['snapshots'], summary: "A VM's snapshots, newest first, with the owner's snapshot quota and the price per GB-month", params: IdParam, response: { 200: SnapshotList, ...errorResponses } },
    handler: async (request) => snapshots.listForVm(identityOf(request), request.params.id),
  });

  app.post('/api/vms/:id/snapshots', {
    config: { access: 'user' },
    schema: {
      tags: ['snapshots'],
      summary: 'Take a snapshot (asynchronous: the snapshot action, same as POST /api/vms/{id}/action {action: "snapshot"})',
      params: IdParam,
      body: CreateSnapshotRequest,
      response: { 202: Action, ...errorResponses },
    },
    // One code path: the VM action (lock, status rules, log, events) does the work.
    handler: async (request, reply) =>
      reply.status(202).send(await vms.act(identityOf(request), request.params.id, { action: 'snapshot', ...request.body }, contextOf(request))),
  });

  app.get('/api/snapshots', {
    config: { access: 'user' },
    schema: { tags: ['snapshots'], summary: 'Your snapshots, newest first, with your snapshot quota and the price per GB-month', response: { 200: SnapshotList, ...errorResponses } },
    handler: async (request) => snapshots.listMine(identityOf(request)),
  });

  app.get('/api/snapshots/:id', {
    config: { access: 'user' },
    schema: { tags: ['snapshots'], summary: 'One of your snapshots', params: IdParam, response: { 200: Snapshot, ...errorResponses } },
    handler: async (request) => snapshots.get(identityOf(request), request.params.id),
  });

  app.delete('/api/snapshots/:id', {
    config: { access: 'user' },
    schema: { tags: ['snapshots'], summary: 'Delete one of your snapshots (its storage is charged up to the day it is deleted in)', params: IdParam, response: { 204: Type.Null(), ...errorResponses } },
    handler: async (request, reply) => {
      await snapshots.delete(identityOf(request), request.params.id, contextOf(request));
      return reply.status(204).send(null);
    },
  });
}
