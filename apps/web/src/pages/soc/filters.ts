import type { Event, EventType, Severity, SocEventQuery } from '@twarga/contract';

export const EVENT_TYPES: readonly EventType[] = ['auth', 'security', 'vm', 'system', 'terminal', 'admin'];
export const SEVERITIES: readonly Severity[] = ['info', 'warning', 'critical'];

/** What the feed shows, as the URL's query string holds it (so a view can be shared). */
export interface SocFilters {
  type?: EventType;
  severity?: Severity;
  code?: string;
  vm_id?: number;
  source_ip?: string;
  /** ISO timestamps. */
  from?: string;
  to?: string;
  q?: string;
}

/** URL parameter → filter field (short, readable names in the address bar). */
const PARAMS = { type: 'type', severity: 'severity', code: 'code', vm_id: 'vm', source_ip: 'source', from: 'from', to: 'to', q: 'q' } as const;

const positiveInt = (v: string | null) => (v && /^\d{1,9}$/.test(v) && Number(v) > 0 ? Number(v) : undefined);
const isoOrUndefined = (v: string | null) => (v && !Number.isNaN(Date.parse(v)) ? new Date(v).toISOString() : undefined);
const text = (v: string | null, max: number) => (v?.trim() ? v.trim().slice(0, max) : undefined);

/** The filters in a query string; anything malformed is left out rather than sent to be refused. */
export function readFilters(params: URLSearchParams): SocFilters {
  const type = params.get(PARAMS.type);
  const severity = params.get(PARAMS.severity);
  const code = text(params.get(PARAMS.code), 64);
  return {
    type: EVENT_TYPES.includes(type as EventType) ? (type as EventType) : undefined,
    severity: SEVERITIES.includes(severity as Severity) ? (severity as Severity) : undefined,
    code: code && /^[a-z_]+(\.[a-z_]+)*$/.test(code) ? code : undefined,
    vm_id: positiveInt(params.get(PARAMS.vm_id)),
    source_ip: text(params.get(PARAMS.source_ip), 64),
    from: isoOrUndefined(params.get(PARAMS.from)),
    to: isoOrUndefined(params.get(PARAMS.to)),
    q: text(params.get(PARAMS.q), 200),
  };
}

/** Writes the filters into (a copy of) the query string, keeping its other parameters (tab, all…). */
export function writeFilters(params: URLSearchParams, filters: SocFilters): URLSearchParams {
  const next = new URLSearchParams(params);
  for (const [field, name] of Object.entries(PARAMS) as [keyof SocFilters, string][]) {
    const v = filters[field];
    if (v === undefined || v === '') next.delete(name);
    else next.set(name, String(v));
  }
  return next;
}

export const hasFilters = (f: SocFilters) => Object.values(f).some((v) => v !== undefined);

/**
 * The API query for the filters. `onlyUserId`: an admin's own view (the all-tenants toggle off)
 * asks for the events about them only; everyone else is limited by the server anyway.
 */
export function toQuery(f: SocFilters, onlyUserId?: number): Omit<SocEventQuery, 'limit' | 'cursor'> {
  const q: Omit<SocEventQuery, 'limit' | 'cursor'> = {};
  for (const [k, v] of Object.entries(f)) if (v !== undefined) (q as Record<string, unknown>)[k] = v;
  if (onlyUserId !== undefined) q.user_id = onlyUserId;
  return q;
}

/** Letters and digits runs, lower-cased: how the search index splits text into tokens. */
const tokens = (s: string) => s.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];

/** Whether `needle`'s tokens appear in a row in `hay` (a word such as 203.0.113.7 is a phrase of tokens). */
function hasPhrase(hay: readonly string[], needle: readonly string[]): boolean {
  if (needle.length === 0) return true;
  for (let i = 0; i + needle.length <= hay.length; i++) if (needle.every((t, j) => hay[i + j] === t)) return true;
  return false;
}

/**
 * Whether a pushed event belongs in a feed with this query: the server filters the pages it
 * sends, the live arrivals are matched here the same way (the search as "every word appears in
 * the message, code, user name, address or details", close to the server's full-text match).
 */
export function matchesQuery(e: Event, q: Omit<SocEventQuery, 'limit' | 'cursor'>): boolean {
  if (q.type && e.type !== q.type) return false;
  if (q.severity && e.severity !== q.severity) return false;
  if (q.code && e.code !== q.code && e.action !== q.code) return false;
  if (q.vm_id !== undefined && e.vm_id !== q.vm_id) return false;
  if (q.user_id !== undefined && e.user_id !== q.user_id) return false;
  if (q.source_ip && e.source_ip !== q.source_ip) return false;
  const at = Date.parse(e.timestamp);
  if (q.from && at < Date.parse(q.from)) return false;
  if (q.to && at > Date.parse(q.to)) return false;
  if (q.q) {
    const hay = tokens([e.message, e.code, e.username ?? '', e.source_ip ?? '', detailText(e.details)].join(' '));
    if (!q.q.split(/\s+/u).every((w) => hasPhrase(hay, tokens(w)))) return false;
  }
  return true;
}

/** The details' keys and values as text (JSON punctuation is no token anyway). */
const detailText = (details: Record<string, unknown>) => JSON.stringify(details);
