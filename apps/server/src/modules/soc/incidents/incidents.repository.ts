import { sql, type Selectable } from 'kysely';
import type { IncidentHistoryEntry, IncidentStatus, SocIncident } from '@twarga/contract';
import type { Db } from '../../../db/database.js';
import type { SocIncidentsTable } from '../../../db/schema.js';

/** An incident with the key of its rule and group (the engine's index). */
export type StoredIncident = SocIncident & { group_key: string };

export const ACTIVE_STATUSES: IncidentStatus[] = ['open', 'acknowledged'];

function toIncident(r: Selectable<SocIncidentsTable>): StoredIncident {
  return {
    id: r.id,
    rule_id: r.rule_id,
    title: r.title,
    severity: r.severity as SocIncident['severity'],
    mitre: r.mitre,
    status: r.status as IncidentStatus,
    group: JSON.parse(r.group_values) as SocIncident['group'],
    source_ip: r.source_ip,
    vm_id: r.vm_id,
    user_id: r.user_id,
    event_count: Number(r.event_count),
    first_seen: r.first_seen,
    last_seen: r.last_seen,
    created_at: r.created_at,
    updated_at: r.updated_at,
    group_key: r.group_key,
  };
}

export const publicIncident = ({ group_key: _k, ...i }: StoredIncident): SocIncident => i;

export interface NewIncident {
  rule_id: string;
  title: string;
  severity: SocIncident['severity'];
  mitre: string;
  group_key: string;
  group: SocIncident['group'];
  source_ip: string | null;
  vm_id: number | null;
  user_id: number | null;
  event_count: number;
  first_seen: string;
  last_seen: string;
}

export interface HistoryInput {
  action: string;
  actorUserId: number | null;
  actorUsername: string | null;
  comment: string | null;
}

const isUniqueViolation = (err: unknown) => {
  const code = (err as { code?: unknown }).code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || /UNIQUE constraint failed/i.test(String((err as Error).message));
};

/** Incidents, the events that make them up, and their history. */
export class IncidentsRepository {
  constructor(private readonly db: Db) {}

  /** Opens an incident; undefined when one of the same rule and group is active already (the unique index). */
  async insert(i: NewIncident, now: string): Promise<StoredIncident | undefined> {
    const { group, ...rest } = i;
    try {
      const row = await this.db
        .insertInto('soc_incidents')
        .values({ ...rest, group_values: JSON.stringify(group), status: 'open', created_at: now, updated_at: now })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toIncident(row);
    } catch (err) {
      if (isUniqueViolation(err)) return undefined;
      throw err;
    }
  }

  async find(id: number): Promise<StoredIncident | undefined> {
    const row = await this.db.selectFrom('soc_incidents').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toIncident(row);
  }

  async findActive(ruleId: string, groupKey: string): Promise<StoredIncident | undefined> {
    const row = await this.db
      .selectFrom('soc_incidents')
      .selectAll()
      .where('rule_id', '=', ruleId)
      .where('group_key', '=', groupKey)
      .where('status', 'in', ACTIVE_STATUSES)
      .executeTakeFirst();
    return row && toIncident(row);
  }

  async listActive(): Promise<StoredIncident[]> {
    return (await this.db.selectFrom('soc_incidents').selectAll().where('status', 'in', ACTIVE_STATUSES).execute()).map(toIncident);
  }

  async list(q: { userId?: number; status?: IncidentStatus; limit: number }): Promise<StoredIncident[]> {
    let query = this.db.selectFrom('soc_incidents').selectAll().orderBy('id', 'desc').limit(q.limit);
    if (q.userId !== undefined) query = query.where('user_id', '=', q.userId);
    if (q.status) query = query.where('status', '=', q.status);
    return (await query.execute()).map(toIncident);
  }

  /** Adds occurrences to an incident that is still active: its new event_count, or undefined when it is not active (resolved meanwhile). */
  async addEvents(id: number, n: number, lastSeen: string, now: string): Promise<number | undefined> {
    const row = await this.db
      .updateTable('soc_incidents')
      .set({ event_count: sql<number>`event_count + ${n}`, last_seen: sql<string>`CASE WHEN last_seen < ${lastSeen} THEN ${lastSeen} ELSE last_seen END`, updated_at: now })
      .where('id', '=', id)
      .where('status', 'in', ACTIVE_STATUSES)
      .returning('event_count')
      .executeTakeFirst();
    return row && Number(row.event_count);
  }

  /**
   * addEvents for many incidents in one UPDATE (the engine's additions of a batch): the new
   * event_count of each incident that is still active; those missing are no longer active.
   */
  async addEventsMany(list: { id: number; n: number; lastSeen: string }[], now: string): Promise<Map<number, number>> {
    const counts = new Map<number, number>();
    for (let i = 0; i < list.length; i += 200) {
      const part = list.slice(i, i + 200);
      const n = sql.join(part.map((a) => sql`WHEN ${a.id} THEN CAST(${a.n} AS integer)`), sql` `);
      const last = sql.join(part.map((a) => sql`WHEN ${a.id} THEN (CASE WHEN last_seen < ${a.lastSeen} THEN ${a.lastSeen} ELSE last_seen END)`), sql` `);
      const rows = await this.db
        .updateTable('soc_incidents')
        .set({ event_count: sql<number>`event_count + CASE id ${n} ELSE 0 END`, last_seen: sql<string>`CASE id ${last} ELSE last_seen END`, updated_at: now })
        .where('id', 'in', part.map((a) => a.id))
        .where('status', 'in', ACTIVE_STATUSES)
        .returning(['id', 'event_count'])
        .execute();
      for (const r of rows) counts.set(Number(r.id), Number(r.event_count));
    }
    return counts;
  }

  /** Moves an incident from `from` to `to`; false when its status was no longer `from`. Throws 'conflict' on the unique index. */
  async setStatus(id: number, from: IncidentStatus, to: IncidentStatus, now: string): Promise<'ok' | 'changed' | 'conflict'> {
    try {
      const res = await this.db.updateTable('soc_incidents').set({ status: to, updated_at: now }).where('id', '=', id).where('status', '=', from).executeTakeFirst();
      return Number(res.numUpdatedRows) > 0 ? 'ok' : 'changed';
    } catch (err) {
      if (isUniqueViolation(err)) return 'conflict';
      throw err;
    }
  }

  async touch(id: number, now: string): Promise<void> {
    await this.db.updateTable('soc_incidents').set({ updated_at: now }).where('id', '=', id).execute();
  }

  async linkEvents(id: number, eventIds: number[]): Promise<void> {
    const unique = [...new Set(eventIds)];
    if (unique.length === 0) return;
    await this.db
      .insertInto('soc_incident_events')
      .values(unique.map((event_id) => ({ incident_id: id, event_id })))
      .onConflict((oc) => oc.columns(['incident_id', 'event_id']).doNothing())
      .execute();
  }

  /** Links of several incidents, a few hundred rows per INSERT. */
  async linkMany(links: { incident_id: number; event_id: number }[]): Promise<void> {
    const seen = new Set<string>();
    const unique = links.filter((l) => {
      const k = `${l.incident_id}:${l.event_id}`;
      return seen.has(k) ? false : (seen.add(k), true);
    });
    for (let i = 0; i < unique.length; i += 500) {
      await this.db
        .insertInto('soc_incident_events')
        .values(unique.slice(i, i + 500))
        .onConflict((oc) => oc.columns(['incident_id', 'event_id']).doNothing())
        .execute();
    }
  }

  async eventIds(id: number, limit: number): Promise<number[]> {
    const rows = await this.db.selectFrom('soc_incident_events').select('event_id').where('incident_id', '=', id).orderBy('event_id').limit(limit).execute();
    return rows.map((r) => Number(r.event_id));
  }

  /** Ids of the events that share an incident with this event (itself included). */
  async relatedEventIds(eventId: number, limit: number): Promise<number[]> {
    const rows = await this.db
      .selectFrom('soc_incident_events')
      .select('event_id')
      .where('incident_id', 'in', (qb) => qb.selectFrom('soc_incident_events').select('incident_id').where('event_id', '=', eventId))
      .orderBy('event_id', 'desc')
      .limit(limit)
      .execute();
    return [...new Set(rows.map((r) => Number(r.event_id)))];
  }

  async addHistory(id: number, h: HistoryInput, at: string): Promise<void> {
    await this.db
      .insertInto('soc_incident_history')
      .values({ incident_id: id, at, action: h.action, actor_user_id: h.actorUserId, actor_username: h.actorUsername, comment: h.comment })
      .execute();
  }

  async history(id: number): Promise<IncidentHistoryEntry[]> {
    const rows = await this.db.selectFrom('soc_incident_history').selectAll().where('incident_id', '=', id).orderBy('id').execute();
    return rows.map((r) => ({ at: r.at, action: r.action, actor_user_id: r.actor_user_id, actor_username: r.actor_username, comment: r.comment }));
  }

  /** Unresolved (open or acknowledged) incidents the viewer may see. */
  async countActive(userId?: number): Promise<number> {
    let q = this.db.selectFrom('soc_incidents').select((eb) => eb.fn.countAll<string>().as('n')).where('status', 'in', ACTIVE_STATUSES);
    if (userId !== undefined) q = q.where('user_id', '=', userId);
    return Number((await q.executeTakeFirstOrThrow()).n);
  }
}
