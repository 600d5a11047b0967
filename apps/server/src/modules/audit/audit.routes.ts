import type { Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import { AuditExportQuery, AuditPage, AuditQuery } from '@twarga/contract';
import { errorResponses } from '../../http/errors.js';
import type { App } from '../../http/types.js';
import { exportContentType, exportFileName, exportTable } from '../../lib/table-export.js';
import type { Clock } from '../../lib/time.js';
import { AUDIT_CSV_COLUMNS, auditCsvRow, type AuditService } from './audit.service.js';

export async function auditRoutes(app: App, { audit, clock }: { audit: AuditService; clock: Clock }) {
  app.get('/api/admin/audit', {
    config: { access: 'admin' },
    schema: {
      tags: ['admin'],
      summary: 'The audit log of admin actions, newest first; next_cursor is the before_id of the next page',
      querystring: AuditQuery,
      response: { 200: AuditPage, ...errorResponses },
    },
    handler: async (request) => audit.page(request.query),
  });

  app.get('/api/admin/audit/export', {
    config: { access: 'admin' },
    schema: {
      tags: ['admin'],
      summary: 'Every audit entry matching the filters, oldest first, as CSV (with a header) or one JSON array; an attachment',
      querystring: AuditExportQuery,
      response: { 200: Type.Unsafe<Readable>({ type: 'string', description: 'text/csv or application/json, streamed' }), ...errorResponses },
    },
    handler: async (request, reply) => {
      const { format = 'csv', ...filters } = request.query;
      const body = exportTable(format, AUDIT_CSV_COLUMNS, audit.exportPages(filters), auditCsvRow, (err) => request.log.error({ err }, 'audit export failed mid-way'));
      reply.header('content-type', exportContentType(format));
      reply.header('content-disposition', `attachment; filename="${exportFileName('twarga-audit', format, clock.now())}"`);
      reply.header('cache-control', 'no-store');
      return reply.send(body);
    },
  });
}
