import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../../config/config.js';
import type { Db } from '../../db/database.js';
import type { ExclusiveLock } from '../../lib/cluster-lock.js';
import type { Clock } from '../../lib/time.js';
import type { LiveBus } from '../../operations/live-bus.js';
import type { EventLog } from '../events/event-log.js';
import { AlertEngine } from './alert-engine.js';
import { AlertsRepository } from './alerts.repository.js';
import { AlertsService } from './alerts.service.js';
import type { ChannelOwnership, Notifier } from './notifier.js';

/**
 * Alert policies judged on the collector's samples from the bus; transitions notify through the
 * notifications module (its notifier and its answer on whose channels are whose).
 */
export function createAlerts(deps: {
  db: Db;
  config: Pick<Config, 'alertHysteresisPercent' | 'alertNotifyMinIntervalSeconds' | 'maxAlertPoliciesPerUser'>;
  bus: LiveBus;
  events: EventLog;
  notifier: Notifier;
  channels: ChannelOwnership;
  vms: { find(id: number): Promise<{ name: string; user_id: number; destroyed_at: string | null } | undefined> };
  clock: Clock;
  log: FastifyBaseLogger;
  admission: ExclusiveLock;
}): { engine: AlertEngine; service: AlertsService } {
  const { config } = deps;
  const repo = new AlertsRepository(deps.db);
  const engine = new AlertEngine({
    repo, bus: deps.bus, events: deps.events, notifier: deps.notifier, vms: deps.vms, clock: deps.clock, log: deps.log,
    policy: { hysteresisPercent: config.alertHysteresisPercent, notifyMinIntervalSeconds: config.alertNotifyMinIntervalSeconds },
  });
  const service = new AlertsService({
    repo, engine, vms: deps.vms, channels: deps.channels, clock: deps.clock, admission: deps.admission,
    policy: { maxPoliciesPerUser: config.maxAlertPoliciesPerUser },
  });
  return { engine, service };
}
