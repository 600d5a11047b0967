import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../../config/config.js';
import type { ExclusiveLock } from '../../lib/cluster-lock.js';
import type { Db } from '../../db/database.js';
import { parseMirrorHosts, type FetchPolicy } from '../../lib/guarded-fetch.js';
import type { Clock } from '../../lib/time.js';
import type { EventLog } from '../events/event-log.js';
import { ChannelsRepository } from './channels.repository.js';
import { DeliveriesRepository } from './deliveries.repository.js';
import { NotificationsService } from './notifications.service.js';
import { Senders } from './senders.js';

/** "5,30" → [5000, 30000]: the waits before the 2nd and 3rd attempt. */
export const parseRetrySeconds = (list: string): number[] =>
  list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => Math.round(Number(s) * 1000));

/** Builds the notifications service from the settings (app.ts stays a list of wires). */
export function createNotifications(deps: {
  db: Db;
  config: Pick<Config, 'smtpUrl' | 'smtpFrom' | 'webhookAllowHosts' | 'maxChannelsPerUser' | 'notificationTimeoutSeconds' | 'notificationRetrySeconds'>;
  sealKey: string;
  events: EventLog;
  clock: Clock;
  log: FastifyBaseLogger;
  /** Tests: a fake DNS for webhook hosts. */
  resolve?: FetchPolicy['resolve'];
  admission?: ExclusiveLock;
}): NotificationsService {
  const { config } = deps;
  const timeoutMs = config.notificationTimeoutSeconds * 1000;
  const webhookPolicy: FetchPolicy = {
    mirrorHosts: parseMirrorHosts(config.webhookAllowHosts),
    allowListName: 'TWARGA_WEBHOOK_ALLOW_HOSTS',
    userAgent: 'twarga-webhook',
    idleTimeoutMs: timeoutMs,
    resolve: deps.resolve,
  };
  return new NotificationsService({
    channels: new ChannelsRepository(deps.db),
    deliveries: new DeliveriesRepository(deps.db),
    senders: new Senders({ smtpUrl: config.smtpUrl, smtpFrom: config.smtpFrom, webhookPolicy, timeoutMs }),
    webhookPolicy,
    sealKey: deps.sealKey,
    admission: deps.admission,
    events: deps.events,
    clock: deps.clock,
    log: deps.log,
    policy: { maxChannelsPerUser: config.maxChannelsPerUser, timeoutMs, retryDelaysMs: parseRetrySeconds(config.notificationRetrySeconds) },
  });
}
