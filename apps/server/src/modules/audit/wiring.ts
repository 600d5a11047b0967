import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../../db/database.js';
import type { App } from '../../http/types.js';
import type { Clock } from '../../lib/time.js';
import { registerAuditHook } from './audit-hook.js';
import { AuditRepository } from './audit.repository.js';
import { auditRoutes } from './audit.routes.js';
import { AuditService } from './audit.service.js';

export interface AuditDeps {
  db: Db;
  clock: Clock;
  log: FastifyBaseLogger;
}

/** The audit log of admin actions: the hook that writes one entry per admin request, and its API. */
export function createAudit(d: AuditDeps) {
  const repo = new AuditRepository(d.db);
  const service = new AuditService(repo);
  return {
    repo,
    service,
    /** Before any route: every admin request is audited. */
    registerHook(app: App): void {
      registerAuditHook(app, { repo, clock: d.clock, log: d.log });
    },
    async register(app: App): Promise<void> {
      await app.register(auditRoutes, { audit: service, clock: d.clock });
    },
  };
}
