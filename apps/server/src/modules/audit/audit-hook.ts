import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import type { App } from '../../http/types.js';
import type { Clock } from '../../lib/time.js';
import { auditRow, isAuditable } from './audit-record.js';
import type { AuditRepository } from './audit.repository.js';

/**
 * One audit entry per admin action, written in onSend: after the handler (or the validation,
 * the guard, the error handler) decided the answer, and before a byte of it goes out, so the
 * entry exists by the time the client has the response. Failed attempts (400, 404, 409...) are
 * entries too. If the insert itself fails, the action already happened: the answer still goes
 * out (an error would invite a retry of a done action, e.g. a second credit) and the failure is
 * logged at error level with everything the entry would have held.
 */
export function registerAuditHook(app: App, d: { repo: AuditRepository; clock: Clock; log: FastifyBaseLogger }): void {
  const written = new WeakSet<FastifyRequest>();
  app.addHook('onSend', async (request, reply, payload) => {
    if (written.has(request) || !isAuditable(request)) return payload;
    written.add(request);
    const row = auditRow(request, reply.statusCode, payload, d.clock.now());
    try {
      await d.repo.insert(row);
    } catch (err) {
      d.log.error({ err, audit: row }, 'AUDIT ENTRY NOT WRITTEN: an admin action is missing from the audit log');
    }
    return payload;
  });
}
