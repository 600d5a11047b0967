import type { FastifyRequest } from 'fastify';

/**
 * What a route tells the audit log about the admin action it just ran: a stable action code,
 * the target, and the state before and after. The audit hook (audit-hook.ts) writes exactly one
 * entry per admin request from it, whether the action succeeded or failed; a route that notes
 * nothing still gets an entry (from its method, path and parameters).
 */
export interface AuditNote {
  /** e.g. user.credits_adjusted, vm.emergency_stop, users.bulk_credit */
  action?: string;
  target?: { type: string; id: string | number; label?: string };
  before?: unknown;
  after?: unknown;
  details?: Record<string, unknown>;
}

declare module 'fastify' {
  interface FastifyRequest {
    auditNote?: AuditNote;
  }
  interface FastifyContextConfig {
    /** Audit a request to this route even though it is not an admin-only route (an admin acting on someone's object). */
    audit?: boolean;
  }
}

/** Adds to the request's audit note (later calls override earlier fields). */
export function noteAudit(request: FastifyRequest, note: AuditNote): void {
  request.auditNote = { ...request.auditNote, ...note };
}
