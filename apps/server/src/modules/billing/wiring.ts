import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../../config/config.js';
import type { Db } from '../../db/database.js';
import type { App } from '../../http/types.js';
import type { Clock } from '../../lib/time.js';
import type { EventLog } from '../events/event-log.js';
import type { Notifier } from '../notifications/notification.js';
import type { UsersRepository } from '../users/users.repository.js';
import type { VmsRepository } from '../vms/vms.repository.js';
import type { VmsService } from '../vms/vms.service.js';
import { LedgerRepository } from './ledger.repository.js';
import { ledgerRoutes } from './ledger.routes.js';
import type { LedgerService } from './ledger.service.js';
import { Metering } from './metering.js';

export interface BillingDeps {
  db: Db;
  config: Config;
  ledger: LedgerService;
  users: UsersRepository;
  vmsRepo: VmsRepository;
  vms: VmsService;
  events: EventLog;
  notifier: Notifier;
  clock: Clock;
  log: FastifyBaseLogger;
}

/** Billing: hourly metering, the low-balance watch (warnings, grace, suspension), the user's billing API. */
export function createBilling(d: BillingDeps) {
  const ledgerRepo = new LedgerRepository(d.db);
  const metering = new Metering({ vms: d.vmsRepo, ledger: d.ledger, events: d.events, clock: d.clock, log: d.log });
  return {
    metering,
    ledgerRepo,
    async register(app: App): Promise<void> {
      await app.register(ledgerRoutes, { ledger: ledgerRepo });
    },
    /** The first pass now (hours that began while the server was down), then every interval. */
    async start(): Promise<void> {
      await metering.pass();
      metering.start(d.config.meteringIntervalSeconds * 1000);
    },
    close(): void {
      metering.stop();
    },
  };
}
export type Billing = ReturnType<typeof createBilling>;
