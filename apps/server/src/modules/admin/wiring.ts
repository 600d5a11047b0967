import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../../config/config.js';
import type { Db } from '../../db/database.js';
import type { App } from '../../http/types.js';
import type { Clock } from '../../lib/time.js';
import type { SessionsRepository } from '../auth/sessions.repository.js';
import type { Billing } from '../billing/wiring.js';
import type { LedgerService } from '../billing/ledger.service.js';
import type { EventLog } from '../events/event-log.js';
import type { HostsRepository } from '../hosts/hosts.repository.js';
import type { TokensRepository } from '../tokens/tokens.repository.js';
import type { UsersRepository } from '../users/users.repository.js';
import type { VmsRepository } from '../vms/vms.repository.js';
import type { VmsService } from '../vms/vms.service.js';
import { AdminAccountsService } from './admin-accounts.service.js';
import { adminVmsRoutes } from './admin-vms.routes.js';
import { AdminVmsService } from './admin-vms.service.js';
import { adminRoutes } from './admin.routes.js';
import { AdminService } from './admin.service.js';

export interface AdminDeps {
  db: Db;
  config: Config;
  users: UsersRepository;
  sessions: SessionsRepository;
  tokens: TokensRepository;
  ledger: LedgerService;
  billing: Billing;
  vms: VmsService;
  vmsRepo: VmsRepository;
  hostsRepo: HostsRepository;
  /** How many live snapshots a user keeps (their snapshot quota's usage). */
  countSnapshots: (userId: number) => Promise<number>;
  events: EventLog;
  clock: Clock;
  log: FastifyBaseLogger;
}

/** The admin panel's users and VMs: lists, detail, quotas, bulk operations, emergency stops, deletion. */
export function createAdmin(d: AdminDeps) {
  const { billing } = d;
  const admin = new AdminService({
    ledger: d.ledger,
    users: d.users,
    sessions: d.sessions,
    vmsRepo: d.vmsRepo,
    events: d.events,
    clock: d.clock,
    sshHost: d.config.sshHost,
    defaultLimits: () => d.vms.defaultLimits(),
    snapshotUsage: async (userId) => ({ defaultLimit: d.config.maxSnapshotsPerUser, used: await d.countSnapshots(userId) }),
    billingSummary: (userId) => billing.service.summary(userId),
    ledgerPage: (userId, query) => billing.ledgerRepo.list(userId, query),
  });
  const accounts = new AdminAccountsService({ users: d.users, sessions: d.sessions, tokens: d.tokens, ledger: d.ledger, vms: d.vms, vmsRepo: d.vmsRepo, events: d.events, clock: d.clock });
  const vms = new AdminVmsService({ vms: d.vms, vmsRepo: d.vmsRepo, users: d.users, events: d.events, clock: d.clock, sshHost: d.config.sshHost });

  return {
    admin,
    accounts,
    vms,
    async register(app: App): Promise<void> {
      await app.register(adminRoutes, { admin, accounts });
      await app.register(adminVmsRoutes, { vms });
    },
  };
}
