import type { Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import { LedgerEntry, LedgerExportQuery, LedgerQuery } from '@twarga/contract';
import { errorResponses } from '../../http/errors.js';
import { identityOf, type App } from '../../http/types.js';
import { exportContentType, exportFileName, exportTable } from '../../lib/table-export.js';
import type { Clock } from '../../lib/time.js';
import type { LedgerRepository } from './ledger.repository.js';

const CSV_COLUMNS = ['id', 'created_at', 'kind', 'amount', 'balance_after', 'hours', 'period', 'vm_id', 'reason', 'actor_id'] as const;
const cells = (e: LedgerEntry) => [e.id, e.created_at, e.kind ?? (e.amount >= 0 ? 'credit' : 'debit'), e.amount, e.balance_after, e.hours, e.period, e.vm_id, e.reason, e.actor_id];

/** The user's own ledger: filtered pages (X-Next-Cursor) and the full export. */
export async function ledgerRoutes(app: App, { ledger, clock }: { ledger: LedgerRepository; clock: Clock }) {
  app.get('/api/account/ledger', {
    config: { access: 'user' },
    schema: {
      tags: ['account'],
      summary: 'Your credit history, newest first; filters; the next page: before_id = X-Next-Cursor',
      querystring: LedgerQuery,
      response: { 200: Type.Array(LedgerEntry), ...errorResponses },
    },
    handler: async (request, reply) => {
      const page = await ledger.list(identityOf(request).user.id, request.query);
      if (page.next !== undefined) reply.header('x-next-cursor', String(page.next));
      return page.entries;
    },
  });

  app.get('/api/account/ledger/export', {
    config: { access: 'user' },
    schema: {
      tags: ['account'],
      summary: 'Your whole credit history matching the filters, as CSV (with a header row) or one JSON array; an attachment',
      querystring: LedgerExportQuery,
      response: { 200: Type.Unsafe<Readable>({ type: 'string', description: 'text/csv or application/json, streamed' }), ...errorResponses },
    },
    handler: async (request, reply) => {
      const { format = 'csv', ...filter } = request.query;
      const pages = ledger.pages(identityOf(request).user.id, filter);
      const body = exportTable(format, CSV_COLUMNS, pages, cells, (err) => request.log.error({ err }, 'ledger export failed mid-way'));
      reply.header('content-type', exportContentType(format));
      reply.header('content-disposition', `attachment; filename="${exportFileName('twarga-ledger', format, clock.now())}"`);
      reply.header('cache-control', 'no-store');
      return reply.send(body);
    },
  });
}
