import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../../config/config.js';
import type { Db } from '../../db/database.js';
import type { Clock } from '../../lib/time.js';
import type { App } from '../../http/types.js';
import type { LiveBus } from '../../operations/live-bus.js';
import type { EventLog } from '../events/event-log.js';
import type { NotificationsService } from '../notifications/notifications.service.js';
import type { VmsRepository } from '../vms/vms.repository.js';

export interface SocDeps {
  db: Db;
  dbKind: 'sqlite' | 'postgres';
  config: Config;
  events: EventLog;
  bus: LiveBus;
  vms: VmsRepository;
  notifications: NotificationsService;
  clock: Clock;
  log: FastifyBaseLogger;
}

/**
 * Builds the SOC (app.ts stays a list of wires): detection rules, incidents and blocks; the events
 * API (search, statistics, export); the syslog ingest from guests; the SSH gateway.
 * `register` adds the routes; `start` opens listeners and timers (server.ts and tests that need
 * them); `close` stops everything.
 */
export function createSoc(deps: SocDeps) {
  const starts: Array<() => Promise<void> | void> = [];
  const closes: Array<() => Promise<void> | void> = [];
  const routes: Array<(app: App) => Promise<void>> = [];

  // --- detection: rules, incidents, blocks ---

  // --- events API: search, statistics, export, retention ---

  // --- syslog ingest ---

  // --- SSH gateway ---

  return {
    register: async (app: App) => {
      for (const r of routes) await r(app);
    },
    start: async () => {
      for (const s of starts) await s();
    },
    close: async () => {
      for (const c of closes.reverse()) await c();
    },
  };
}
export type Soc = ReturnType<typeof createSoc>;
