import type { CreatedVm, Vm } from '@twarga/contract';
import type { FastifyRequest } from 'fastify';
import { AppError, notFound } from '../../http/errors.js';
import { contextOf, identityOf, type App } from '../../http/types.js';
import type { Identity } from '../auth/identity.js';
import { DO_ACTION_TYPES, toDoAction, toVmAction, type DoActionType } from './action-view.js';
import { DO_REGION_SLUGS, findDoImage } from './catalog-view.js';
import { unprocessable } from './do-http.js';
import { CreateDropletBody, DropletActionBody, DropletActionParams, DropletIdParam, DropletListQuery, TagQuery } from './droplet-schemas.js';
import { loadCatalog, regionOf, toDroplet } from './droplet-view.js';
import { absoluteUrl, PageQuery, paginate } from './pagination.js';
import type { DoCompatDeps, DoRoutesOptions } from './wiring.js';

/**
 * /v2/droplets: DO's droplet API over VmsService (its quotas, credits, locks and events). A DO
 * account is one user: lists and tag deletes cover only the caller's own VMs, for an admin too
 * (by id, an admin reaches any VM, as on /api).
 */
export async function dropletsRoutes(app: App, { deps, route }: DoRoutesOptions) {
  const { vms } = deps;
  const actionHref = (request: FastifyRequest, id: number) => new URL(`/v2/actions/${id}`, absoluteUrl(request, deps.config.publicUrl)).toString();

  app.get('/droplets', {
    config: route('user'),
    schema: { querystring: DropletListQuery },
    handler: async (request) => {
      const { tag_name, name } = request.query;
      const mine = await vms.list(identityOf(request), { tag: tag_name, own: true });
      const matching = name === undefined ? mine : mine.filter((vm) => vm.name === name);
      const page = paginate(request, matching, request.query, deps.config.publicUrl);
      const catalog = await loadCatalog(deps, [identityOf(request).user.id]);
      return { droplets: page.items.map((vm) => toDroplet(vm, catalog)), links: page.links, meta: page.meta };
    },
  });

  app.post('/droplets', {
    config: route('user'),
    schema: { body: CreateDropletBody },
    handler: async (request, reply) => {
      const body = request.body;
      if ((body.name === undefined) === (body.names === undefined)) throw unprocessable('Give name or names (not both)');
      if (body.backups) throw unprocessable('Backups are not offered here: use snapshots (/api/vms/{id}/action {action: snapshot})');
      if (body.volumes?.length) throw unprocessable('Block storage volumes are not offered here');
      const image = await findDoImage(deps.imagesRepo, body.image);
      if (!image) throw unprocessable(`Unknown image ${JSON.stringify(body.image)} (see GET /v2/images)`);
      const region = await hostRegion(deps, body.region);
      const input = {
        image: image.slug,
        size: body.size,
        ssh_keys: body.ssh_keys ?? [],
        ...(body.user_data ? { user_data: body.user_data } : {}),
        tags: body.tags ?? [],
        ...(region ? { region } : {}),
      };
      const identity = identityOf(request);
      const created: CreatedVm[] = body.names
        ? await vms.createMany(identity, body.names, input, contextOf(request))
        : [await vms.create(identity, { ...input, name: body.name! }, contextOf(request))];
      const catalog = await loadCatalog(deps);
      const actions = created.map((vm) => ({ id: vm.action.id, rel: 'create', href: actionHref(request, vm.action.id) }));
      const droplets = created.map((vm) => toDroplet(vm, catalog));
      return reply.status(202).send(body.names ? { droplets, links: { actions } } : { droplet: droplets[0], links: { actions } });
    },
  });

  app.get('/droplets/:id', {
    config: route('user'),
    schema: { params: DropletIdParam },
    handler: async (request) => {
      const vm = await liveDroplet(deps, identityOf(request), request.params.id);
      return { droplet: toDroplet(vm, await loadCatalog(deps, [vm.user_id])) };
    },
  });

  app.delete('/droplets/:id', {
    config: route('user'),
    schema: { params: DropletIdParam },
    handler: async (request, reply) => {
      const identity = identityOf(request);
      await liveDroplet(deps, identity, request.params.id);
      await vms.act(identity, request.params.id, { action: 'destroy' }, contextOf(request));
      return reply.status(204).send();
    },
  });

  app.delete('/droplets', {
    config: route('user'),
    schema: { querystring: TagQuery },
    handler: async (request, reply) => {
      const tag = request.query.tag_name;
      if (!tag) throw unprocessable('tag_name is required to delete droplets by tag');
      const identity = identityOf(request);
      const tagged = await vms.list(identity, { tag, own: true });
      // Every tagged droplet is asked to go; those that cannot (an action holds them) are named after.
      const refused: string[] = [];
      for (const vm of tagged.filter((v) => v.status !== 'destroying')) {
        await vms.act(identity, vm.id, { action: 'destroy' }, contextOf(request)).catch((err: unknown) => {
          if (!(err instanceof AppError)) throw err;
          refused.push(`${vm.name}: ${err.message}`);
        });
      }
      if (refused.length) throw unprocessable(`Some droplets tagged ${tag} were not deleted: ${refused.join('; ')}`);
      return reply.status(204).send();
    },
  });

  app.post('/droplets/:id/actions', {
    config: route('user'),
    schema: { params: DropletIdParam, body: DropletActionBody },
    handler: async (request, reply) => {
      const type = request.body.type;
      if (!(DO_ACTION_TYPES as readonly string[]).includes(type)) throw unprocessable(`Droplet action ${type} is not supported here (supported: ${DO_ACTION_TYPES.join(', ')})`);
      const identity = identityOf(request);
      const vm = await liveDroplet(deps, identity, request.params.id);
      const action = await vms.act(identity, vm.id, toVmAction(type as DoActionType), contextOf(request));
      const region = regionOf(vm.host_id, await loadCatalog(deps));
      return reply.status(201).send({ action: toDoAction(action, region) });
    },
  });

  app.get('/droplets/:id/actions/:action_id', {
    config: route('user'),
    schema: { params: DropletActionParams },
    handler: async (request) => {
      const identity = identityOf(request);
      const vm = await liveDroplet(deps, identity, request.params.id);
      const action = await vms.getAction(identity, request.params.action_id);
      if (action.vm_id !== vm.id) throw notFound('Action');
      return { action: toDoAction(action, regionOf(vm.host_id, await loadCatalog(deps))) };
    },
  });

  app.get('/droplets/:id/actions', {
    config: route('user'),
    schema: { params: DropletIdParam, querystring: PageQuery },
    handler: async (request) => {
      const identity = identityOf(request);
      const vm = await liveDroplet(deps, identity, request.params.id);
      const page = paginate(request, await vms.listActions(identity, vm.id), request.query, deps.config.publicUrl);
      const region = regionOf(vm.host_id, await loadCatalog(deps));
      return { actions: page.items.map((a) => toDoAction(a, region)), links: page.links, meta: page.meta };
    },
  });
}

/** A VM the caller may see that is not destroyed: a deleted droplet is a 404 on DO. */
async function liveDroplet(deps: DoCompatDeps, identity: Identity, id: number): Promise<Vm> {
  const vm = await deps.vms.get(identity, id);
  if (vm.status === 'destroyed') throw notFound('Droplet');
  return vm;
}

/**
 * The host a create's region names, or undefined for "anywhere": none, "", or one of DO's own
 * slugs that is not also one of our host names. Any other name goes to VmsService, which refuses
 * what is not a host taking new VMs.
 */
async function hostRegion(deps: DoCompatDeps, region: string | null | undefined): Promise<string | undefined> {
  if (!region) return undefined;
  if (DO_REGION_SLUGS.has(region) && !(await deps.hostsRepo.list()).some((h) => h.name === region)) return undefined;
  return region;
}
