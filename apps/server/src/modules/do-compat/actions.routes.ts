import type { Action } from '@twarga/contract';
import { identityOf, type App } from '../../http/types.js';
import { toDoAction } from './action-view.js';
import { DropletIdParam } from './droplet-schemas.js';
import { loadCatalog, regionOf } from './droplet-view.js';
import { PageQuery, paginate } from './pagination.js';
import type { DoCompatDeps, DoRoutesOptions } from './wiring.js';

/** /v2/actions: the caller's actions on their droplets (VmsService's action rows, in DO's shape). */
export async function actionsRoutes(app: App, { deps, route }: DoRoutesOptions) {
  app.get('/actions', {
    config: route('user'),
    schema: { querystring: PageQuery },
    handler: async (request) => {
      const page = paginate(request, await deps.vms.listMyActions(identityOf(request)), request.query, deps.config.publicUrl);
      return { actions: await withRegions(deps, page.items), links: page.links, meta: page.meta };
    },
  });

  app.get('/actions/:id', {
    config: route('user'),
    schema: { params: DropletIdParam },
    handler: async (request) => {
      const action = await deps.vms.getAction(identityOf(request), request.params.id);
      return { action: (await withRegions(deps, [action]))[0] };
    },
  });
}

/** Actions in DO's shape, each with the region (host) of its droplet. */
async function withRegions(deps: DoCompatDeps, actions: Action[]) {
  const catalog = await loadCatalog(deps);
  const hostOf = new Map<number, number | null>();
  for (const vmId of new Set(actions.map((a) => a.vm_id))) hostOf.set(vmId, (await deps.vmsRepo.find(vmId))?.host_id ?? null);
  return actions.map((a) => toDoAction(a, regionOf(hostOf.get(a.vm_id) ?? null, catalog)));
}
