import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../../../db/database.js';
import type { Clock } from '../../../lib/time.js';
import type { App } from '../../../http/types.js';
import { EventRetention } from './retention.js';
import { SocEventsRepository } from './soc-events.repository.js';
import { SocEventsService, type IncidentLinks, type SocCounts } from './soc-events.service.js';
import { socEventsRoutes } from './soc-events.routes.js';

export type { IncidentLinks, SocCounts } from './soc-events.service.js';
export type { Viewer } from './soc-events.repository.js';

/** Until the detection part provides them: no incidents, no blocks. */
export const NO_INCIDENT_LINKS: IncidentLinks = { relatedIncidentEventIds: async () => [] };
export const NO_COUNTS: SocCounts = { openIncidents: async () => 0, activeBlocks: async () => 0 };

/** The SOC's events API: search, detail, statistics, export, and the retention pass. */
export function createSocEvents(deps: {
  db: Db;
  dbKind: 'sqlite' | 'postgres';
  clock: Clock;
  log: FastifyBaseLogger;
  retentionDays: number;
  incidents?: IncidentLinks;
  counts?: SocCounts;
}) {
  const repo = new SocEventsRepository(deps.db, deps.dbKind);
  const service = new SocEventsService(repo, deps.clock, { incidents: deps.incidents ?? NO_INCIDENT_LINKS, counts: deps.counts ?? NO_COUNTS });
  const retention = new EventRetention(repo, deps.clock, deps.retentionDays, deps.log);
  return {
    service,
    retention,
    routes: (app: App) => socEventsRoutes(app, { events: service, clock: deps.clock }),
  };
}
