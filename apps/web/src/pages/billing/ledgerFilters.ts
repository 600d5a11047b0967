import type { LedgerQuery } from '@twarga/contract';
import { LEDGER_KINDS, MONTH_RE, type LedgerKind } from './billing';

/** The ledger's filters as the billing page's query string holds them (a view can be shared). */
export interface LedgerFilters {
  kind?: LedgerKind;
  vm_id?: number;
  month?: string;
  q?: string;
}

/** Filter field → URL parameter. */
const PARAMS = { kind: 'kind', vm_id: 'vm', month: 'month', q: 'q' } as const;

const positiveInt = (v: string | null) => (v && /^\d{1,9}$/.test(v) && Number(v) > 0 ? Number(v) : undefined);

/** The filters in a query string; anything malformed is left out rather than sent to be refused. */
export function readLedgerFilters(params: URLSearchParams): LedgerFilters {
  const kind = params.get(PARAMS.kind);
  const month = params.get(PARAMS.month);
  const q = params.get(PARAMS.q)?.trim();
  const out: LedgerFilters = {};
  if (LEDGER_KINDS.includes(kind as LedgerKind)) out.kind = kind as LedgerKind;
  const vm = positiveInt(params.get(PARAMS.vm_id));
  if (vm !== undefined) out.vm_id = vm;
  if (month && MONTH_RE.test(month)) out.month = month;
  if (q) out.q = q.slice(0, 100);
  return out;
}

/** Writes the filters into (a copy of) the query string, keeping its other parameters (the usage month). */
export function writeLedgerFilters(params: URLSearchParams, f: LedgerFilters): URLSearchParams {
  const next = new URLSearchParams(params);
  for (const [field, name] of Object.entries(PARAMS) as [keyof LedgerFilters, string][]) {
    const v = f[field];
    if (v === undefined || v === '') next.delete(name);
    else next.set(name, String(v));
  }
  return next;
}

export const hasLedgerFilters = (f: LedgerFilters) => Object.values(f).some((v) => v !== undefined);

/** "?kind=usage&vm_id=3" for the API (its names, not the address bar's), '' when there is nothing. */
export function ledgerSearch(f: LedgerFilters, extra: Partial<Pick<LedgerQuery, 'before_id' | 'limit'>> & { format?: 'csv' | 'json' } = {}): string {
  const qs = new URLSearchParams();
  if (extra.format) qs.set('format', extra.format);
  if (f.kind) qs.set('kind', f.kind);
  if (f.vm_id !== undefined) qs.set('vm_id', String(f.vm_id));
  if (f.month) qs.set('month', f.month);
  if (f.q) qs.set('q', f.q);
  if (extra.before_id !== undefined) qs.set('before_id', String(extra.before_id));
  if (extra.limit !== undefined) qs.set('limit', String(extra.limit));
  const s = qs.toString();
  return s ? `?${s}` : '';
}

/** The export download's address, carrying the filters on screen. */
export const ledgerExportUrl = (format: 'csv' | 'json', f: LedgerFilters) => `/api/account/ledger/export${ledgerSearch(f, { format })}`;

/** The X-Next-Cursor header as the next page's before_id; null at the end (or for a header that is no id). */
export function nextCursor(header: string | null): number | null {
  return header && /^\d{1,15}$/.test(header.trim()) ? Number(header.trim()) : null;
}
