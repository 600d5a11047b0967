import type { Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import { Event, IdParam, SocEventDetail, SocEventQuery, SocExportFormats, SocStatistics, Timestamp } from '@twarga/contract';
import { errorResponses } from '../../../http/errors.js';
import { identityOf, type App } from '../../../http/types.js';
import type { Clock } from '../../../lib/time.js';
import { exportContentType, exportFileName } from '../../../lib/table-export.js';
import { exportStream } from './export-format.js';
import type { SocEventsService } from './soc-events.service.js';

const { limit: _limit, cursor: _cursor, ...filterFields } = SocEventQuery.properties;
const ExportQuery = Type.Object({ ...filterFields, format: Type.Union(SocExportFormats.map((f) => Type.Literal(f))) }, { additionalProperties: false });
const StatisticsQuery = Type.Object({ from: Type.Optional(Timestamp), to: Type.Optional(Timestamp) }, { additionalProperties: false });

/** The SOC's event log: list and search, one event with its related events, statistics, export. */
export async function socEventsRoutes(app: App, { events, clock }: { events: SocEventsService; clock: Clock }) {
  app.get('/api/soc/events', {
    config: { access: 'user' },
    schema: {
      tags: ['soc'],
      summary: 'Events about your account and VMs (admins: all), newest first; filters, full-text q; the next page: X-Next-Cursor / Link rel="next"',
      querystring: SocEventQuery,
      response: { 200: Type.Array(Event), ...errorResponses },
    },
    handler: async (request, reply) => {
      const page = await events.list(identityOf(request), request.query);
      if (page.next) {
        const next = new URL(request.url, 'http://localhost');
        next.searchParams.set('cursor', page.next);
        reply.header('x-next-cursor', page.next);
        reply.header('link', `<${next.pathname}${next.search}>; rel="next"`);
      }
      return page.events;
    },
  });

  app.get('/api/soc/events/export', {
    config: { access: 'user' },
    schema: {
      tags: ['soc'],
      summary: 'Every event matching the filters (no limit), streamed as CSV or one JSON array; an attachment',
      querystring: ExportQuery,
      response: { 200: Type.Unsafe<Readable>({ type: 'string', description: 'text/csv or application/json, streamed' }), ...errorResponses },
    },
    handler: async (request, reply) => {
      const { format, ...filter } = request.query;
      const pages = events.exportRows(identityOf(request), filter);
      const body = exportStream(format, pages, (err) => request.log.error({ err }, 'event export failed mid-way'));
      reply.header('content-type', exportContentType(format));
      reply.header('content-disposition', `attachment; filename="${exportFileName('twarga-events', format, clock.now())}"`);
      reply.header('cache-control', 'no-store');
      return reply.send(body);
    },
  });

  app.get('/api/soc/events/:id', {
    config: { access: 'user' },
    schema: { tags: ['soc'], summary: 'One event with related events (same source address, same VM, same incident)', params: IdParam, response: { 200: SocEventDetail, ...errorResponses } },
    handler: async (request) => events.detail(identityOf(request), request.params.id),
  });

  app.get('/api/soc/statistics', {
    config: { access: 'user' },
    schema: { tags: ['soc'], summary: 'Event counts (your account and VMs; admins: all), per hour over 24 h, top sources, open incidents, active blocks', querystring: StatisticsQuery, response: { 200: SocStatistics, ...errorResponses } },
    handler: async (request) => events.statistics(identityOf(request), request.query),
  });
}
