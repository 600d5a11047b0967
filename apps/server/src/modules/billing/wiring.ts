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
import { balancePolicy } from './balance-rules.js';
import { BalanceWatch } from './balance-watch.js';
import { BillingRepository } from './billing.repository.js';
import { billingRoutes } from './billing.routes.js';
import { BillingService } from './billing.service.js';
import { LedgerRepository } from './ledger.repository.js';
import { ledgerRoutes } from './ledger.routes.js';
import type { LedgerService } from './ledger.service.js';
import { Metering } from './metering.js';
import { MeteringRepository } from './metering.repository.js';
import { SnapshotMetering } from './snapshot-metering.js';
import { SnapshotMeteringRepository } from './snapshot-metering.repository.js';

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
  const repo = new BillingRepository(d.db);
  const policy = balancePolicy(d.config);
  // Snapshot storage is charged per day by the metering pass; its hourly share is part of the burn rate.
  const storage = new SnapshotMetering({ repo: new SnapshotMeteringRepository(d.db), ledgerRepo, ledger: d.ledger, clock: d.clock, priceGbMonth: d.config.snapshotPriceGbMonth });
  const service = new BillingService({ repo, clock: d.clock, policy, monthlyCapHours: d.config.monthlyCapHours, storageRate: (userId) => storage.hourlyRate(userId) });
  const watch = new BalanceWatch({ repo, vms: d.vms, events: d.events, notifier: d.notifier, clock: d.clock, log: d.log, policy, burnRate: (userId) => service.burnRate(userId) });
  // After every pass: the users it charged, and anyone whose grace period may have ended.
  // Storage is charged in the same pass (its balance moves reach the watch too).
  const metering = new Metering({ repo: new MeteringRepository(d.db), ledger: d.ledger, events: d.events, clock: d.clock, log: d.log, monthlyCapHours: d.config.monthlyCapHours, storage, afterPass: () => watch.sweep() });
  // A listener on the ledger rather than UserChanges: it fires for balance changes only (not
  // for every role, session or password change) and for every one of them, top-ups included.
  d.ledger.onCredit((userId) => watch.touch(userId));
  return {
    metering,
    /** Snapshot storage billing (run by the metering pass; tests may call charge() directly). */
    storage,
    ledgerRepo,
    /** Balance, burn, runway, usage: BillingService.summary(userId) for the admin's user detail. */
    service,
    /** The low-balance watch (tests wait for it with idle()). */
    watch,
    async register(app: App): Promise<void> {
      await app.register(ledgerRoutes, { ledger: ledgerRepo, clock: d.clock });
      await app.register(billingRoutes, { billing: service });
    },
    /** The first pass now if this process leads (hours that began while the server was down), then every interval. */
    async start(): Promise<void> {
      await metering.job.runWhenLeading();
      metering.start(d.config.meteringIntervalSeconds * 1000);
    },
    close(): void {
      metering.stop();
    },
  };
}
export type Billing = ReturnType<typeof createBilling>;
