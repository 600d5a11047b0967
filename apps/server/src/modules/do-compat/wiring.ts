import type { Config } from '../../config/config.js';
import type { App } from '../../http/types.js';
import type { Clock } from '../../lib/time.js';
import type { ActionsRepository } from '../../operations/actions.repository.js';
import type { AlertsService } from '../alerts/alerts.service.js';
import type { BillingService } from '../billing/billing.service.js';
import type { LedgerService } from '../billing/ledger.service.js';
import type { HostsRepository } from '../hosts/hosts.repository.js';
import type { ImagesRepository } from '../images/images.repository.js';
import type { ImagesService } from '../images/images.service.js';
import type { KeysService } from '../keys/keys.service.js';
import type { MetricsService } from '../metrics/metrics.service.js';
import type { UsersRepository } from '../users/users.repository.js';
import type { VmsRepository } from '../vms/vms.repository.js';
import type { VmsService } from '../vms/vms.service.js';
import { accountRoutes } from './account.routes.js';
import { actionsRoutes } from './actions.routes.js';
import { catalogRoutes } from './catalog.routes.js';
import { doRateLimit, doRouteConfig, registerDoErrors, registerDoRateLimitHeaders } from './do-http.js';
import { dropletsRoutes } from './droplets.routes.js';
import { monitoringRoutes } from './monitoring.routes.js';
import { tokenInfoRoutes } from './token-info.routes.js';

/** What /v2 translates to: the same services as /api, so quotas, credits, locks and events are one set of rules. */
export interface DoCompatDeps {
  config: Config;
  clock: Clock;
  vms: VmsService;
  vmsRepo: VmsRepository;
  actions: ActionsRepository;
  keys: KeysService;
  images: ImagesService;
  imagesRepo: ImagesRepository;
  hostsRepo: HostsRepository;
  metrics: MetricsService;
  alerts: AlertsService;
  billing: BillingService;
  ledger: LedgerService;
  users: UsersRepository;
  tokens: import('../tokens/tokens.service.js').TokensService;
  snapshotsRepo: import('../snapshots/snapshots.repository.js').SnapshotsRepository;
}

/** Options every /v2 route plugin receives. */
export interface DoRoutesOptions {
  deps: DoCompatDeps;
  /** Route config: who may call it (`config: route('user')`). */
  route: ReturnType<typeof doRouteConfig>;
}

/**
 * The DigitalOcean-compatible API: /v2 (DO's shapes, paging, errors and rate-limit headers) and
 * /v1/oauth/token/info (doctl's token check). A translation layer: no rule lives here.
 */
export function createDoCompat(deps: DoCompatDeps) {
  const route = doRouteConfig();
  return {
    async register(app: App): Promise<void> {
      const limit = doRateLimit(app, deps.config.doRateLimitPerHour);
      await app.register(async (v2) => {
        registerDoErrors(v2 as App);
        // After the guard's hook (the caller is known): one counter per user for all of /v2.
        v2.addHook('onRequest', limit);
        registerDoRateLimitHeaders(v2 as App);
        const opts: DoRoutesOptions = { deps, route };
        await v2.register(dropletsRoutes, opts);
        await v2.register(actionsRoutes, opts);
        await v2.register(accountRoutes, opts);
        await v2.register(catalogRoutes, opts);
        await v2.register(monitoringRoutes, opts);
      }, { prefix: '/v2' });
      await app.register(async (v1) => {
        registerDoErrors(v1 as App);
        v1.addHook('onRequest', limit);
        registerDoRateLimitHeaders(v1 as App);
        await v1.register(tokenInfoRoutes, { deps, route });
      }, { prefix: '/v1' });
    },
  };
}
