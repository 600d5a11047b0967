import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../../../db/database.js';
import type { App } from '../../../http/types.js';
import { Periodic } from '../../../lib/periodic.js';
import type { Clock } from '../../../lib/time.js';
import type { EventLog } from '../../events/event-log.js';
import type { Notifier } from '../../notifications/notification.js';
import { MemoryBlocklist } from '../blocks/blocklist.js';
import { BlocksRepository } from '../blocks/blocks.repository.js';
import { socBlocksRoutes } from '../blocks/blocks.routes.js';
import { BlocksService } from '../blocks/blocks.service.js';
import type { Viewer } from '../incidents/actor.js';
import type { Blocklist } from '../ports.js';
import { IncidentNotices } from '../incidents/incident-notices.js';
import { IncidentsRepository } from '../incidents/incidents.repository.js';
import { socIncidentsRoutes } from '../incidents/incidents.routes.js';
import { IncidentsService } from '../incidents/incidents.service.js';
import { DetectionEngine } from './engine.js';
import { RulesRepository } from './rules.repository.js';
import { socRulesRoutes } from './rules.routes.js';
import { RulesService } from './rules.service.js';

export interface DetectionDeps {
  db: Db;
  events: EventLog;
  vms: { find(id: number): Promise<{ user_id: number; name: string; destroyed_at: string | null } | undefined> };
  notifier: Notifier;
  clock: Clock;
  log: FastifyBaseLogger;
  policy: { blockMaxSeconds: number; blockLookbackDays: number; notifyMinIntervalSeconds: number };
}

/**
 * Detection: rules, the correlation engine, incidents and blocks. The engine follows the event
 * log from construction on (like the alert engine); `load` reads rules, active incidents and
 * blocks (before the server answers: the blocklist must be complete); `start` runs the periodic
 * pass (expired blocks, idle windows).
 */
export function createDetection(deps: DetectionDeps) {
  const { db, events, clock, log } = deps;
  const rulesRepo = new RulesRepository(db);
  const notices = new IncidentNotices({ notifier: deps.notifier, clock, log, minIntervalSeconds: deps.policy.notifyMinIntervalSeconds });
  const incidents = new IncidentsService({ repo: new IncidentsRepository(db), events, notices, clock, log });
  const blocklist = new MemoryBlocklist(clock);
  const blocks = new BlocksService({
    repo: new BlocksRepository(db), blocklist, incidents, vms: deps.vms, events, clock, log,
    policy: { maxSeconds: deps.policy.blockMaxSeconds, lookbackDays: deps.policy.blockLookbackDays },
  });
  // Blocks made through the other server processes reach this one's blocklist (and the SSH gateway's cuts).
  const unfollowBlocks = blocks.follow();
  const engine = new DetectionEngine({ rules: rulesRepo, incidents, blocks, vms: deps.vms, events, clock, log });
  const rules = new RulesService({ repo: rulesRepo, events, clock, reload: () => engine.reload() });
  incidents.onClosed = (ruleId, groupKey) => void engine.forget(ruleId, groupKey).catch((err) => log.error({ err }, 'detection could not reset a group'));
  engine.start();

  const pass = new Periodic('SOC blocks and windows', async () => {
    await blocks.expire();
    await engine.sweep();
  }, log);
  let loaded: Promise<void> | undefined;

  return {
    engine,
    incidents,
    blocks,
    rules,
    /** Answers from memory: the SSH gateway and the control-plane guard ask it on every connection and request. */
    blocklist: blocklist as Blocklist,
    /** For the events API: the events that share an incident with an event. */
    incidentLinks: { relatedIncidentEventIds: (eventId: number) => incidents.relatedIncidentEventIds(eventId) },
    /** For the events API's statistics, with the viewer's visibility. */
    counts: {
      openIncidents: (viewer: Viewer) => incidents.countActive(viewer),
      activeBlocks: (viewer: Viewer) => blocks.countActive(viewer),
    },
    load: () => (loaded ??= (async () => {
      await blocks.load();
      await engine.load();
    })()),
    routes: async (app: App) => {
      await socRulesRoutes(app, { rules });
      await socIncidentsRoutes(app, { incidents, blocks });
      await socBlocksRoutes(app, { blocks });
    },
    start: () => pass.start(60_000),
    close: async () => {
      unfollowBlocks();
      pass.stop();
      engine.stop();
      await engine.idle();
    },
  };
}
export type Detection = ReturnType<typeof createDetection>;
