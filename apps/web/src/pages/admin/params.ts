import type { AdminUsersQuery, AdminVmsQuery, AuditQuery, VmHealth, VmStatus } from '@twarga/contract';

/*
 * The contract's lists live next to their TypeBox schemas, which the browser bundle leaves out:
 * they are repeated here, and params.test.ts checks they still match the contract.
 */
export const USER_SORTS = ['id', 'username', 'email', 'credits', 'created_at', 'last_login_at', 'vm_count'] as const;
export const VM_STATUSES: readonly VmStatus[] = ['pending', 'provisioning', 'running', 'paused', 'stopping', 'stopped', 'rebooting', 'destroying', 'destroyed', 'error'];
export const VM_HEALTHS: readonly VmHealth[] = ['booting', 'responsive', 'unresponsive'];
/** The phrase an admin types to stop every VM (EMERGENCY_STOP_ALL_PHRASE). */
export const STOP_ALL_PHRASE = 'STOP ALL VMS';

/**
 * The admin pages' state lives in the query string (so a view can be shared and survives a
 * reload). These helpers read it defensively: anything malformed is left out rather than sent to
 * the server to be refused.
 */

const positiveInt = (v: string | null) => (v && /^\d{1,9}$/.test(v) && Number(v) > 0 ? Number(v) : undefined);
const text = (v: string | null, max: number) => (v?.trim() ? v.trim().slice(0, max) : undefined);
const isoOrUndefined = (v: string | null) => (v && !Number.isNaN(Date.parse(v)) ? new Date(v).toISOString() : undefined);
const oneOf = <T extends string>(v: string | null, allowed: readonly T[]): T | undefined => (allowed.includes(v as T) ? (v as T) : undefined);

/** "?a=1&b=x" from the defined, non-empty values ('' when none). */
export function toSearch(params: object): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
  const s = qs.toString();
  return s ? `?${s}` : '';
}

/** Sets or removes (undefined / '') single parameters in a copy of `params`, keeping the rest. */
export function withParams(params: URLSearchParams, changes: Record<string, string | number | undefined>): URLSearchParams {
  const next = new URLSearchParams(params);
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined || v === '') next.delete(k);
    else next.set(k, String(v));
  }
  return next;
}

// ---- Users --------------------------------------------------------------------------------------

export const USERS_PAGE_SIZE = 50;
export const USER_STATUSES = ['all', 'active', 'inactive', 'admin', 'deleted'] as const;
export type UserSort = (typeof USER_SORTS)[number];
type UserStatus = NonNullable<AdminUsersQuery['status']>;

export interface UsersView {
  q?: string;
  status?: UserStatus;
  sort: UserSort;
  order: 'asc' | 'desc';
  /** 1-based */
  page: number;
}

/** Newest accounts first unless the URL says otherwise. */
export function readUsersView(params: URLSearchParams): UsersView {
  return {
    q: text(params.get('q'), 100),
    status: oneOf(params.get('status'), USER_STATUSES),
    sort: oneOf(params.get('sort'), USER_SORTS) ?? 'id',
    order: oneOf(params.get('order'), ['asc', 'desc'] as const) ?? (params.get('sort') ? 'asc' : 'desc'),
    page: positiveInt(params.get('page')) ?? 1,
  };
}

export function usersQuery(v: UsersView): AdminUsersQuery {
  return { q: v.q, status: v.status, sort: v.sort, order: v.order, limit: USERS_PAGE_SIZE, offset: (v.page - 1) * USERS_PAGE_SIZE };
}

/** A click on a column header: the same column flips its order, another one starts ascending (dates and numbers: descending). */
export function nextSort(v: UsersView, column: UserSort): { sort: UserSort; order: 'asc' | 'desc' } {
  if (v.sort === column) return { sort: column, order: v.order === 'asc' ? 'desc' : 'asc' };
  const bigFirst = column === 'credits' || column === 'created_at' || column === 'last_login_at' || column === 'vm_count';
  return { sort: column, order: bigFirst ? 'desc' : 'asc' };
}

/** "Showing 51–100 of 230" figures, and how many pages there are. */
export function pageInfo(page: number, pageSize: number, total: number, shown: number) {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  const first = total === 0 || shown === 0 ? 0 : (page - 1) * pageSize + 1;
  return { pages, first, last: first === 0 ? 0 : first + shown - 1 };
}

// ---- VMs ----------------------------------------------------------------------------------------

export const VMS_PAGE_SIZE = 100;

export interface VmsView {
  owner_id?: number;
  host_id?: number;
  status?: VmStatus;
  health?: VmHealth;
  q?: string;
  page: number;
}

/** URL names: owner, host, status, health, q, page. */
export function readVmsView(params: URLSearchParams): VmsView {
  return {
    owner_id: positiveInt(params.get('owner')),
    host_id: positiveInt(params.get('host')),
    status: oneOf(params.get('status'), VM_STATUSES),
    health: oneOf(params.get('health'), VM_HEALTHS),
    q: text(params.get('q'), 100),
    page: positiveInt(params.get('page')) ?? 1,
  };
}

export function vmsQuery(v: VmsView): AdminVmsQuery {
  return { owner_id: v.owner_id, host_id: v.host_id, status: v.status, health: v.health, q: v.q, limit: VMS_PAGE_SIZE, offset: (v.page - 1) * VMS_PAGE_SIZE };
}

export const vmsFiltered = (v: VmsView) => v.owner_id !== undefined || v.host_id !== undefined || v.status !== undefined || v.health !== undefined || v.q !== undefined;

// ---- Audit --------------------------------------------------------------------------------------

export type AuditFilters = Omit<AuditQuery, 'before_id' | 'limit'>;

/** URL names: actor, action, target_type, target, outcome, since, until, q. */
const AUDIT_PARAMS = { actor_id: 'actor', action: 'action', target_type: 'target_type', target_id: 'target', outcome: 'outcome', since: 'since', until: 'until', q: 'q' } as const;

export function readAuditFilters(params: URLSearchParams): AuditFilters {
  const action = text(params.get(AUDIT_PARAMS.action), 64);
  const targetType = text(params.get(AUDIT_PARAMS.target_type), 32);
  return {
    actor_id: positiveInt(params.get(AUDIT_PARAMS.actor_id)),
    action: action && /^[a-z0-9_.-]+$/i.test(action) ? action : undefined,
    target_type: targetType && /^[a-z0-9_.-]+$/i.test(targetType) ? targetType : undefined,
    target_id: text(params.get(AUDIT_PARAMS.target_id), 64),
    outcome: oneOf(params.get(AUDIT_PARAMS.outcome), ['succeeded', 'failed'] as const),
    since: isoOrUndefined(params.get(AUDIT_PARAMS.since)),
    until: isoOrUndefined(params.get(AUDIT_PARAMS.until)),
    q: text(params.get(AUDIT_PARAMS.q), 100),
  };
}

/** The filters into (a copy of) the query string; other parameters (the open entry) stay. */
export function writeAuditFilters(params: URLSearchParams, f: AuditFilters): URLSearchParams {
  const changes: Record<string, string | number | undefined> = {};
  for (const [field, name] of Object.entries(AUDIT_PARAMS) as [keyof AuditFilters, string][]) changes[name] = f[field];
  return withParams(params, changes);
}

export const hasAuditFilters = (f: AuditFilters) => Object.values(f).some((v) => v !== undefined);

/** The export link: the same filters, as the API names them. */
export const auditExportUrl = (f: AuditFilters, format: 'csv' | 'json') => `/api/admin/audit/export${toSearch({ format, ...f })}`;

// ---- Display ------------------------------------------------------------------------------------

/** 4 → "4 s ago", 150 → "2 min ago", 7300 → "2 h ago", 200000 → "2 d ago"; "just now" under a second. */
export function ago(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 1) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/**
 * Whether a job ran on time: a job that has not run for more than two of its intervals is late
 * (the server judges health; this only words it).
 */
export function jobLate(lastRunAt: string | null | undefined, intervalSeconds: number | undefined, now: number): boolean {
  if (!lastRunAt || !intervalSeconds) return false;
  return (now - Date.parse(lastRunAt)) / 1000 > intervalSeconds * 2;
}

/** "about 41 hours" / "about 3 days" / "less than an hour"; "—" when nothing burns. */
export function runwayText(hours: number | null): string {
  if (hours === null) return 'nothing burns credits';
  if (hours < 1) return 'less than an hour';
  if (hours < 72) return `about ${Math.floor(hours)} ${Math.floor(hours) === 1 ? 'hour' : 'hours'}`;
  return `about ${Math.floor(hours / 24)} days`;
}

export interface DiffRow {
  path: string;
  before: string | undefined;
  after: string | undefined;
  change: 'added' | 'removed' | 'changed' | 'same';
}

/** Leaves of a JSON value by dotted path: {a:{b:1}, c:[2]} → a.b=1, c[0]=2. */
function leaves(value: unknown, prefix: string, out: Map<string, string>): void {
  if (value !== null && typeof value === 'object') {
    const entries = Array.isArray(value) ? value.map((v, i) => [`${prefix}[${i}]`, v] as const) : Object.entries(value).map(([k, v]) => [prefix ? `${prefix}.${k}` : k, v] as const);
    if (entries.length === 0) out.set(prefix || '(value)', Array.isArray(value) ? '[]' : '{}');
    for (const [p, v] of entries) leaves(v, p, out);
    return;
  }
  if (value !== undefined) out.set(prefix || '(value)', JSON.stringify(value));
}

/**
 * An audit entry's before and after, field by field: what was added, removed or changed (and,
 * kept at the end, what stayed the same) so the change stands out in the detail view.
 */
export function diffRows(before: unknown, after: unknown): DiffRow[] {
  const b = new Map<string, string>();
  const a = new Map<string, string>();
  if (before !== null && before !== undefined) leaves(before, '', b);
  if (after !== null && after !== undefined) leaves(after, '', a);
  const paths = [...new Set([...b.keys(), ...a.keys()])];
  const rows = paths.map((path): DiffRow => {
    const x = b.get(path);
    const y = a.get(path);
    const change = x === undefined ? 'added' : y === undefined ? 'removed' : x === y ? 'same' : 'changed';
    return { path, before: x, after: y, change };
  });
  const rank = (r: DiffRow) => (r.change === 'same' ? 1 : 0);
  return rows.sort((r, s) => rank(r) - rank(s));
}
