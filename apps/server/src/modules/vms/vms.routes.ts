import { Type } from '@sinclair/typebox';
import { Action, ActionLog, CreateVmRequest, CreatedVm, IdParam, Size, Vm, VmActionRequest, VmStats, VmStatusResponse } from '@twarga/contract';
import { errorResponses } from '../../http/errors.js';
import { contextOf, identityOf, type App } from '../../http/types.js';
import { SIZES } from '../sizes/sizes.js';
import type { VmsService } from './vms.service.js';

export async function vmsRoutes(app: App, { vms }: { vms: VmsService }) {
  app.get('/api/vms', {
    config: { access: 'user' },
    schema: { tags: ['vms'], summary: 'Your VMs (admins: every VM)', response: { 200: Type.Array(Vm), ...errorResponses } },
    handler: async (request) => vms.list(identityOf(request)),
  });

  app.post('/api/vms', {
    config: { access: 'user' },
    schema: {
      tags: ['vms'],
      summary: 'Create a VM, from an image or one of your snapshots (snapshot_id) (asynchronous: returns the VM in status pending and its create action)',
      body: CreateVmRequest,
      response: { 201: CreatedVm, ...errorResponses },
    },
    handler: async (request, reply) => reply.status(201).send(await vms.create(identityOf(request), request.body, contextOf(request))),
  });

  app.get('/api/vms/:id', {
    config: { access: 'user' },
    schema: { tags: ['vms'], summary: 'One VM', params: IdParam, response: { 200: Vm, ...errorResponses } },
    handler: async (request) => vms.get(identityOf(request), request.params.id),
  });

  app.get('/api/vms/:id/status', {
    config: { access: 'user' },
    schema: { tags: ['vms'], summary: "A VM's status", params: IdParam, response: { 200: VmStatusResponse, ...errorResponses } },
    handler: async (request) => {
      const vm = await vms.get(identityOf(request), request.params.id);
      return { id: vm.id, status: vm.status, status_reason: vm.status_reason, locked: vm.locked, ip_address: vm.ip_address, uptime_seconds: vm.uptime_seconds };
    },
  });

  app.get('/api/vms/:id/stats', {
    config: { access: 'user' },
    schema: {
      tags: ['vms'],
      summary: "What a running VM has used since it booted: CPU time, host memory, disk and network bytes, from its hypervisor (409 vm_not_running when it is not running)",
      params: IdParam,
      response: { 200: VmStats, ...errorResponses },
    },
    handler: async (request) => vms.stats(identityOf(request), request.params.id),
  });

  app.post('/api/vms/:id/action', {
    config: { access: 'user' },
    schema: {
      tags: ['vms'],
      summary:
        'start | stop | restart | reboot | destroy | snapshot {name?, memory?} | restore {snapshot_id} | resize {size | ram, cpu, disk} (stopped) | rebuild {image?, confirm: the VM name} (stopped) (asynchronous; one action at a time per VM, else 409)',
      params: IdParam,
      body: VmActionRequest,
      response: { 202: Action, ...errorResponses },
    },
    handler: async (request, reply) => reply.status(202).send(await vms.act(identityOf(request), request.params.id, request.body, contextOf(request))),
  });

  app.get('/api/vms/:id/actions', {
    config: { access: 'user' },
    schema: { tags: ['vms'], summary: "A VM's action history, newest first", params: IdParam, response: { 200: Type.Array(Action), ...errorResponses } },
    handler: async (request) => vms.listActions(identityOf(request), request.params.id),
  });

  app.get('/api/actions/:id', {
    config: { access: 'user' },
    schema: { tags: ['vms'], summary: 'One action', params: IdParam, response: { 200: Action, ...errorResponses } },
    handler: async (request) => vms.getAction(identityOf(request), request.params.id),
  });

  app.get('/api/actions/:id/log', {
    config: { access: 'user' },
    schema: { tags: ['vms'], summary: "What the driver printed while the action ran (e.g. vagrant up's progress)", params: IdParam, response: { 200: ActionLog, ...errorResponses } },
    handler: async (request) => vms.actionLog(identityOf(request), request.params.id),
  });

  app.get('/api/sizes', {
    config: { access: 'user' },
    schema: { tags: ['images'], summary: 'Sizes with their hourly price in credits', response: { 200: Type.Array(Size), ...errorResponses } },
    handler: async () => [...SIZES],
  });
}
