import { sql, type RawBuilder } from 'kysely';
import type { Event, EventType, Severity } from '@twarga/contract';
import type { Db } from '../../../db/database.js';
import { ftsMatchExpression, MAX_OWNER_TOKENS } from './search-terms.js';

/** Who reads: a user sees events about their account and their VMs; an admin sees all. */
export interface Viewer {
  userId: number;
  admin: boolean;
}

/** The SOC's filters, already checked and normalised (ISO timestamps, search words split). */
export interface EventFilter {
  type?: EventType;
  severity?: Severity;
  code?: string;
  vmId?: number;
  userId?: number;
  sourceIp?: string;
  /** Inclusive. */
  from?: string;
  /** Exclusive. */
  to?: string;
  /** Every word must appear (message, code, user name, address or details). */
  words?: string[];
}

interface EventRow {
  id: number;
  type: string;
  severity: string;
  action: string;
  message: string;
  timestamp: string;
  user_id: number | null;
  username: string | null;
  vm_id: number | null;
  source_ip: string | null;
  details: string;
  count: number;
  last_seen: string | null;
}

const COLUMNS = sql.raw('e.id, e.type, e.severity, e.action, e.message, e.timestamp, e.user_id, e.username, e.vm_id, e.source_ip, e.details, e.count, e.last_seen');

function toEvent(r: EventRow): Event {
  return {
    id: Number(r.id),
    type: r.type as EventType,
    severity: r.severity as Severity,
    action: r.action,
    code: r.action,
    message: r.message,
    timestamp: r.timestamp,
    user_id: r.user_id,
    username: r.username,
    vm_id: r.vm_id,
    source_ip: r.source_ip,
    details: JSON.parse(r.details) as Record<string, unknown>,
    count: Number(r.count),
    last_seen: r.last_seen ?? r.timestamp,
  };
}

/** The owner tokens of a user's events: their id and their VMs' ids ('~u7', '~v12'). */
const ownerLexemes = (scope: { userId: number; vmIds: number[] }) => [`~u${Math.trunc(scope.userId)}`, ...scope.vmIds.map((id) => `~v${Math.trunc(id)}`)];

const and = (parts: RawBuilder<unknown>[]) => (parts.length ? sql`WHERE ${sql.join(parts, sql` AND `)}` : sql``);

/**
 * The SOC's reads of the event log (list, search, detail, statistics, export pages) and the
 * retention delete. Every read takes the viewer, so no query can forget the visibility rule.
 * Pages are keyset pages on id (newest first): new events never shift a page.
 */
export class SocEventsRepository {
  constructor(
    private readonly db: Db,
    private readonly kind: 'sqlite' | 'postgres',
  ) {}

  /**
   * Events about this user (their account: user_id) or about one of their VMs (any VM they own
   * or owned: another user's terminal attempt on it, an SSH attack on it).
   */
  private async visibility(viewer: Viewer): Promise<RawBuilder<unknown>[]> {
    if (viewer.admin) return [];
    // The VM ids as a list rather than a subquery: the planner then sees two index lookups
    // (user_id, vm_id) instead of guessing that half the table matches and walking it.
    const scope = await this.ownerScope(viewer);
    if (!scope) return [sql`(e.user_id = ${viewer.userId} OR e.vm_id IN (SELECT v.id FROM vms v WHERE v.user_id = ${viewer.userId}))`];
    return [scope.vmIds.length ? sql`(e.user_id = ${scope.userId} OR e.vm_id IN (${sql.join(scope.vmIds)}))` : sql`e.user_id = ${scope.userId}`];
  }

  private async conditions(f: EventFilter, viewer: Viewer): Promise<RawBuilder<unknown>[]> {
    const c = await this.visibility(viewer);
    if (f.type) c.push(sql`e.type = ${f.type}`);
    if (f.severity) c.push(sql`e.severity = ${f.severity}`);
    if (f.code) c.push(sql`e.action = ${f.code}`);
    if (f.vmId !== undefined) c.push(sql`e.vm_id = ${f.vmId}`);
    if (f.userId !== undefined) c.push(sql`e.user_id = ${f.userId}`);
    if (f.sourceIp) c.push(sql`e.source_ip = ${f.sourceIp}`);
    if (f.from) c.push(sql`e.timestamp >= ${f.from}`);
    if (f.to) c.push(sql`e.timestamp < ${f.to}`);
    return c;
  }

  /**
   * Up to `limit` events matching `f`, newest first, with id < `before` (the cursor). A search on
   * SQLite drives the query from the FTS index in rowid order, so a common word stops after one
   * page instead of collecting every match; on PostgreSQL it reads events_search (the stored
   * tsvector with its GIN index) and the planner picks between walking the newest and the index.
   */
  async page(f: EventFilter, viewer: Viewer, opts: { before?: number; limit: number }): Promise<Event[]> {
    const c = await this.conditions(f, viewer);
    const search = Boolean(f.words?.length);
    let key = sql.raw('e.id');
    let from = sql`events e`;
    if (search && this.kind === 'sqlite') {
      key = sql.raw('events_fts.rowid');
      from = sql`events_fts JOIN events e ON e.id = events_fts.rowid`;
      c.unshift(sql`events_fts MATCH ${ftsMatchExpression(f.words!, await this.ownerScope(viewer))}`);
    } else if (search) {
      key = sql.raw('s.id');
      from = sql`events_search s JOIN events e ON e.id = s.id`;
      // One phraseto_tsquery per word: it parses its argument as plain text, so no input can
      // inject tsquery operators. The word is split like the indexed text (non-alphanumerics to
      // spaces); a word split into parts (an address, a code, a path) is a phrase of them.
      const queries = f.words!.map((w) => sql`phraseto_tsquery('simple'::regconfig, regexp_replace(${w}, '[^[:alnum:]]+', ' ', 'g'))`);
      const scope = await this.ownerScope(viewer);
      // A user's owner lexemes, built from ids only (never user input): '~u7' | '~v12'.
      if (scope) queries.unshift(sql`${ownerLexemes(scope).map((t) => `'${t}'`).join(' | ')}::tsquery`);
      c.push(sql`s.doc @@ (${sql.join(queries, sql` && `)})`);
    }
    if (opts.before !== undefined) c.push(sql`${key} < ${opts.before}`);
    const { rows } = await sql<EventRow>`SELECT ${COLUMNS} FROM ${from} ${and(c)} ORDER BY ${key} DESC LIMIT ${opts.limit}`.execute(this.db);
    return rows.map(toEvent);
  }

  /**
   * A user's id and VMs' ids, for the search index to intersect with the words (FTS5's owner
   * tokens; events_search's user_id and vm_id on PostgreSQL). The SQL visibility condition still
   * applies to every row. undefined: an admin, or too many VMs to list (the condition alone then).
   */
  private async ownerScope(viewer: Viewer): Promise<{ userId: number; vmIds: number[] } | undefined> {
    if (viewer.admin) return undefined;
    const { rows } = await sql<{ id: number }>`SELECT v.id FROM vms v WHERE v.user_id = ${viewer.userId} LIMIT ${MAX_OWNER_TOKENS + 1}`.execute(this.db);
    if (rows.length > MAX_OWNER_TOKENS) return undefined;
    return { userId: viewer.userId, vmIds: rows.map((r) => Number(r.id)) };
  }

  async byId(id: number, viewer: Viewer): Promise<Event | undefined> {
    return (await this.byIds([id], viewer))[0];
  }

  /** The visible ones of these events, newest first. */
  async byIds(ids: number[], viewer: Viewer): Promise<Event[]> {
    if (!ids.length) return [];
    const c = [...(await this.visibility(viewer)), sql`e.id IN (${sql.join(ids)})`];
    const { rows } = await sql<EventRow>`SELECT ${COLUMNS} FROM events e ${and(c)} ORDER BY e.id DESC`.execute(this.db);
    return rows.map(toEvent);
  }

  /** Occurrences (a folded repeat counts as its `count`) per severity and type. */
  async totals(f: EventFilter, viewer: Viewer): Promise<{ severity: string; type: string; n: number }[]> {
    const { rows } = await sql<{ severity: string; type: string; n: number | string }>`
      SELECT e.severity, e.type, SUM(e.count) AS n FROM events e ${and(await this.conditions(f, viewer))} GROUP BY e.severity, e.type`.execute(this.db);
    return rows.map((r) => ({ severity: r.severity, type: r.type, n: Number(r.n) }));
  }

  /** Occurrences per UTC hour ('YYYY-MM-DDTHH') and severity. */
  async perHour(f: EventFilter, viewer: Viewer): Promise<{ hour: string; severity: string; n: number }[]> {
    const hour = this.kind === 'sqlite' ? sql`substr(e.timestamp, 1, 13)` : sql`to_char(e.timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24')`;
    const { rows } = await sql<{ hour: string; severity: string; n: number | string }>`
      SELECT ${hour} AS hour, e.severity, SUM(e.count) AS n FROM events e ${and(await this.conditions(f, viewer))} GROUP BY 1, 2`.execute(this.db);
    return rows.map((r) => ({ hour: r.hour, severity: r.severity, n: Number(r.n) }));
  }

  /** The source addresses with the most warning and critical occurrences. */
  async topSources(f: EventFilter, viewer: Viewer, limit: number): Promise<{ source_ip: string; count: number }[]> {
    const c = [...(await this.conditions(f, viewer)), sql`e.source_ip IS NOT NULL`, sql`e.severity IN ('warning', 'critical')`];
    const { rows } = await sql<{ source_ip: string; n: number | string }>`
      SELECT e.source_ip, SUM(e.count) AS n FROM events e ${and(c)} GROUP BY e.source_ip ORDER BY n DESC, e.source_ip LIMIT ${limit}`.execute(this.db);
    return rows.map((r) => ({ source_ip: r.source_ip, count: Number(r.n) }));
  }

  /**
   * Deletes up to `batch` events that started before `cutoff`, oldest first; returns how many.
   * Small batches keep each transaction (and, on SQLite, the write lock and the FTS trigger work)
   * short, so the live log keeps writing while an old backlog goes.
   */
  async deleteOlderThan(cutoff: string, batch: number): Promise<number> {
    const res = await sql`DELETE FROM events WHERE id IN (SELECT id FROM events WHERE timestamp < ${cutoff} ORDER BY timestamp LIMIT ${batch})`.execute(this.db);
    return Number(res.numAffectedRows ?? 0);
  }
}
