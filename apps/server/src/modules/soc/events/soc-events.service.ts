import type { Event, EventType, Severity, SocEventDetail, SocEventQuery, SocStatistics } from '@twarga/contract';
import { badRequest, notFound } from '../../../http/errors.js';
import type { Clock } from '../../../lib/time.js';
import type { Identity } from '../../auth/identity.js';
import { searchWords } from './search-terms.js';
import type { EventFilter, SocEventsRepository, Viewer } from './soc-events.repository.js';

/** The incident links of the detection part, read through this only (soc_incident_events). */
export interface IncidentLinks {
  /** Ids of the events that share an incident with this event (itself excluded or not). */
  relatedIncidentEventIds(eventId: number): Promise<number[]>;
}

/** Counts the detection part owns, for the statistics (each honours the viewer's visibility). */
export interface SocCounts {
  openIncidents(viewer: Viewer): Promise<number>;
  activeBlocks(viewer: Viewer): Promise<number>;
}

export type EventFilterQuery = Omit<SocEventQuery, 'limit' | 'cursor'>;

export const RELATED_LIMIT = 10;
export const INCIDENT_RELATED_LIMIT = 50;
const EXPORT_PAGE = 1000;
const TOP_SOURCES = 10;
const HOUR_MS = 3_600_000;

export const viewerOf = (identity: Identity): Viewer => ({ userId: identity.user.id, admin: identity.user.is_admin });

/** The cursor is opaque to clients: the last id of the page, versioned so its form can change. */
export function encodeCursor(id: number): string {
  return Buffer.from(`e1:${id}`).toString('base64url');
}

function decodeCursor(cursor: string): number {
  const m = /^e1:([1-9][0-9]{0,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  const id = m ? Number(m[1]) : NaN;
  if (!Number.isSafeInteger(id)) throw badRequest('Invalid cursor: use the X-Next-Cursor of a previous page', [{ field: 'cursor', message: 'is not a cursor this server issued' }]);
  return id;
}

function isoOf(value: string | undefined, field: string): string | undefined {
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw badRequest(`Invalid ${field}: not a date-time`, [{ field, message: 'must be an ISO 8601 date-time' }]);
  // One form (UTC, milliseconds), the one stored: SQLite compares timestamps as text.
  return new Date(t).toISOString();
}

/**
 * The SOC's read side over the event log: list and search with keyset pages, an event with its
 * related events, statistics and the streamed export. Users see events about their account and
 * their VMs; admins see everything. Filters only narrow what the viewer may see: a user's
 * user_id=<someone else> answers with that person's events about the user's own VMs (usually
 * none), never with anything else of theirs.
 */
export class SocEventsService {
  constructor(
    private readonly repo: SocEventsRepository,
    private readonly clock: Clock,
    private readonly links: { incidents: IncidentLinks; counts: SocCounts },
  ) {}

  /** Checks and normalises the filters (400 for what the schema cannot say, e.g. from after to). */
  filterOf(q: EventFilterQuery): EventFilter {
    const from = isoOf(q.from, 'from');
    const to = isoOf(q.to, 'to');
    if (q.source_ip !== undefined && /\p{Cc}/u.test(q.source_ip)) throw badRequest('Invalid source_ip', [{ field: 'source_ip', message: 'must not hold control characters' }]);
    if (from && to && from > to) throw badRequest('from must not be after to', [{ field: 'from', message: 'is after to' }]);
    return { type: q.type as EventType | undefined, severity: q.severity as Severity | undefined, code: q.code, vmId: q.vm_id, userId: q.user_id, sourceIp: q.source_ip, from, to, words: searchWords(q.q) };
  }

  /** One page, newest first; `next` is the cursor of the following page (absent on the last). */
  async list(identity: Identity, q: SocEventQuery): Promise<{ events: Event[]; next?: string }> {
    const filter = this.filterOf(q);
    const before = q.cursor !== undefined ? decodeCursor(q.cursor) : undefined;
    const limit = q.limit ?? 50;
    // One more than asked: whether a next page exists, without a count.
    const rows = await this.repo.page(filter, viewerOf(identity), { before, limit: limit + 1 });
    const events = rows.slice(0, limit);
    return { events, next: rows.length > limit ? encodeCursor(events[events.length - 1]!.id) : undefined };
  }

  /** 404 (not 403) for an event the viewer may not see: its existence is not told either. */
  async detail(identity: Identity, id: number): Promise<SocEventDetail> {
    const viewer = viewerOf(identity);
    const event = await this.repo.byId(id, viewer);
    if (!event) throw notFound('Event');
    const others = async (f: EventFilter) => (await this.repo.page(f, viewer, { limit: RELATED_LIMIT + 1 })).filter((e) => e.id !== id).slice(0, RELATED_LIMIT);
    const incidentIds = (await this.links.incidents.relatedIncidentEventIds(id)).filter((e) => e !== id);
    const newest = [...new Set(incidentIds)].sort((a, b) => b - a).slice(0, INCIDENT_RELATED_LIMIT);
    return {
      event,
      related: {
        same_source: event.source_ip ? await others({ sourceIp: event.source_ip }) : [],
        same_vm: event.vm_id !== null ? await others({ vmId: event.vm_id }) : [],
        same_incident: await this.repo.byIds(newest, viewer),
      },
    };
  }

  /**
   * Totals over the period (from/to, default all time); per hour and top sources over the 24 h
   * ending at `to` (default now). Occurrences: a folded repeat counts `count` times.
   */
  async statistics(identity: Identity, q: { from?: string; to?: string }): Promise<SocStatistics> {
    const viewer = viewerOf(identity);
    const { from, to } = this.filterOf(q);
    const end = to ? Date.parse(to) : this.clock.now().getTime();
    const firstHour = Math.floor(end / HOUR_MS) * HOUR_MS - 23 * HOUR_MS;
    const dayStart = new Date(Math.max(firstHour, from ? Date.parse(from) : 0)).toISOString();
    const lastDay: EventFilter = { from: dayStart, to };
    const [totals, hours, top_sources, open_incidents, active_blocks] = await Promise.all([
      this.repo.totals({ from, to }, viewer),
      this.repo.perHour(lastDay, viewer),
      this.repo.topSources({ from: new Date(Math.max(end - 24 * HOUR_MS, from ? Date.parse(from) : 0)).toISOString(), to }, viewer, TOP_SOURCES),
      this.links.counts.openIncidents(viewer),
      this.links.counts.activeBlocks(viewer),
    ]);
    const stats: SocStatistics = { total_events: 0, info_count: 0, warning_count: 0, critical_count: 0, by_type: {}, by_hour: [], top_sources, open_incidents, active_blocks };
    for (const t of totals) {
      stats.total_events += t.n;
      if (t.severity === 'info' || t.severity === 'warning' || t.severity === 'critical') stats[`${t.severity}_count`] += t.n;
      stats.by_type[t.type] = (stats.by_type[t.type] ?? 0) + t.n;
    }
    const perHour = new Map<string, { info: number; warning: number; critical: number }>();
    for (let h = 0; h < 24; h++) perHour.set(new Date(firstHour + h * HOUR_MS).toISOString().slice(0, 13), { info: 0, warning: 0, critical: 0 });
    for (const r of hours) {
      const slot = perHour.get(r.hour);
      if (slot && (r.severity === 'info' || r.severity === 'warning' || r.severity === 'critical')) slot[r.severity] += r.n;
    }
    stats.by_hour = [...perHour].map(([hour, c]) => ({ hour: `${hour}:00:00.000Z`, ...c }));
    return stats;
  }

  /**
   * Every matching event, newest first, read in keyset pages (never the whole result in memory).
   * The filters are checked before the first byte, so bad input is still a 400. Events recorded
   * after the export began are not in it: each page continues below the previous one's last id.
   */
  exportRows(identity: Identity, q: EventFilterQuery): AsyncGenerator<Event[]> {
    const filter = this.filterOf(q);
    const viewer = viewerOf(identity);
    const repo = this.repo;
    return (async function* pages() {
      let before: number | undefined;
      for (;;) {
        const page = await repo.page(filter, viewer, { before, limit: EXPORT_PAGE });
        if (page.length) yield page;
        if (page.length < EXPORT_PAGE) return;
        before = page[page.length - 1]!.id;
      }
    })();
  }
}
