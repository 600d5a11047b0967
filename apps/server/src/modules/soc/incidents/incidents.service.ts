import type { FastifyBaseLogger } from 'fastify';
import type { IncidentAction, IncidentQuery, IncidentStatus, SocIncident, SocIncidentDetail } from '@twarga/contract';
import { badRequest, conflict, notFound } from '../../../http/errors.js';
import type { Clock } from '../../../lib/time.js';
import type { Identity } from '../../auth/identity.js';
import type { EventLog } from '../../events/event-log.js';
import type { Actor, Viewer } from './actor.js';
import type { IncidentNotices } from './incident-notices.js';
import { publicIncident, type IncidentsRepository, type NewIncident, type StoredIncident } from './incidents.repository.js';

/** An incident links at most this many events ("related events"); event_count keeps counting. */
export const LINK_CAP = 1000;

const indexKey = (ruleId: string, groupKey: string) => `${ruleId}\u0000${groupKey}`;

export interface IncidentsDeps {
  repo: IncidentsRepository;
  events: Pick<EventLog, 'record'>;
  notices: IncidentNotices;
  clock: Clock;
  log: FastifyBaseLogger;
}

/** The history action of a move to a status. */
function actionFor(to: IncidentStatus): string {
  if (to === 'open') return 'reopened';
  return to;
}

/** Allowed moves: acknowledge an open one, resolve or dismiss an unresolved one, reopen any other. */
function allowed(from: IncidentStatus, to: IncidentStatus): boolean {
  if (to === 'acknowledged') return from === 'open';
  if (to === 'resolved' || to === 'false_positive') return from === 'open' || from === 'acknowledged';
  return from !== 'open';
}

/**
 * Incidents: what the detection engine opens and adds to (one per rule and group while open or
 * acknowledged: the database's unique index decides, this keeps an index of them in memory), and
 * what people read, acknowledge, resolve and comment. Users see the incidents about their VMs and
 * account (user_id); admins see all; another user's incident is "not found".
 */
export class IncidentsService {
  /** rule + group key → the active incident's id. */
  private readonly active = new Map<string, number>();
  /** Told when a person resolves an incident or marks it a false positive (the engine starts its group afresh). */
  onClosed?: (ruleId: string, groupKey: string) => void;

  constructor(private readonly d: IncidentsDeps) {}

  async load(): Promise<void> {
    this.active.clear();
    for (const i of await this.d.repo.listActive()) this.active.set(indexKey(i.rule_id, i.group_key), i.id);
  }

  activeId(ruleId: string, groupKey: string): number | undefined {
    return this.active.get(indexKey(ruleId, groupKey));
  }

  // --- the engine's side ---

  /**
   * Opens an incident for a rule and group, with its first events; when one is active already
   * (another writer won), the events are added to that one instead. Returns the incident and
   * whether it is new.
   */
  async open(i: NewIncident, eventIds: number[], description: string): Promise<{ incident: StoredIncident; opened: boolean }> {
    const now = this.now();
    const created = await this.d.repo.insert(i, now);
    if (!created) {
      const existing = await this.d.repo.findActive(i.rule_id, i.group_key);
      if (!existing) throw new Error(`incident of ${i.rule_id} neither inserted nor found`);
      this.active.set(indexKey(i.rule_id, i.group_key), existing.id);
      await this.addEvents(existing.id, i.event_count, i.last_seen, eventIds);
      return { incident: existing, opened: false };
    }
    this.active.set(indexKey(i.rule_id, i.group_key), created.id);
    // Independent writes: at once (on PostgreSQL each is a round trip and a commit; a campaign of
    // many addresses opens thousands of incidents, and the engine waits for each).
    await Promise.all([
      this.d.repo.linkEvents(created.id, eventIds.slice(0, LINK_CAP)),
      this.d.repo.addHistory(created.id, { action: 'opened', actorUserId: null, actorUsername: null, comment: description }, now),
      this.d.events.record({
        type: 'security', severity: created.severity, action: 'soc.incident_opened',
        message: `Incident #${created.id} opened: ${created.title}`.slice(0, 500),
        userId: created.user_id, vmId: created.vm_id, sourceIp: created.source_ip,
        details: { incident_id: created.id, rule_id: created.rule_id, mitre: created.mitre, event_count: created.event_count },
      }),
    ]);
    await this.d.notices.opened(publicIncident(created), description);
    return { incident: created, opened: true };
  }

  /** More events of an active incident; false when it is no longer active (resolved meanwhile). */
  async addEvents(id: number, n: number, lastSeen: string, eventIds: number[]): Promise<boolean> {
    const count = await this.d.repo.addEvents(id, n, lastSeen, this.now());
    if (count === undefined) {
      for (const [k, v] of this.active) if (v === id) this.active.delete(k);
      return false;
    }
    if (count - n < LINK_CAP) await this.d.repo.linkEvents(id, eventIds);
    return true;
  }

  /**
   * addEvents for many incidents at once (the engine's additions of one batch): one UPDATE and a
   * few multi-row INSERTs of links for all of them, instead of two statements per incident.
   */
  async addEventsMany(list: { id: number; n: number; lastSeen: string; eventIds: number[] }[]): Promise<void> {
    const links: { incident_id: number; event_id: number }[] = [];
    const counts = await this.d.repo.addEventsMany(list, this.now());
    for (const a of list) {
      const count = counts.get(a.id);
      if (count === undefined) {
        for (const [k, v] of this.active) if (v === a.id) this.active.delete(k);
      } else if (count - a.n < LINK_CAP) for (const event_id of a.eventIds) links.push({ incident_id: a.id, event_id });
    }
    await this.d.repo.linkMany(links);
  }

  /** The rule fired again on an incident that is still active. */
  async refired(id: number, comment: string): Promise<void> {
    await this.d.repo.addHistory(id, { action: 'event', actorUserId: null, actorUsername: null, comment }, this.now());
  }

  /** A block was made for the incident (by its rule or a person). */
  async noteBlocked(id: number, actor: Actor, comment: string): Promise<void> {
    const now = this.now();
    await Promise.all([
      this.d.repo.addHistory(id, { action: 'blocked', actorUserId: actor?.userId ?? null, actorUsername: actor?.username ?? null, comment }, now),
      this.d.repo.touch(id, now),
    ]);
  }

  // --- people's side ---

  async list(identity: Identity, q: IncidentQuery): Promise<SocIncident[]> {
    const rows = await this.d.repo.list({ userId: identity.user.is_admin ? undefined : identity.user.id, status: q.status, limit: q.limit ?? 100 });
    return rows.map(publicIncident);
  }

  /** The incident if the caller may see it (admins: all; users: theirs); otherwise 404. */
  async visible(identity: Identity, id: number): Promise<StoredIncident> {
    const i = await this.d.repo.find(id);
    if (!i || !(identity.user.is_admin || i.user_id === identity.user.id)) throw notFound('Incident');
    return i;
  }

  async get(identity: Identity, id: number): Promise<SocIncidentDetail> {
    return this.detail(await this.visible(identity, id));
  }

  /** A status change and/or a comment, by the incident's owner or an admin, with its history entry. */
  async act(identity: Identity, id: number, a: IncidentAction): Promise<SocIncidentDetail> {
    const incident = await this.visible(identity, id);
    const comment = a.comment?.trim() || null;
    const moving = a.status !== undefined && a.status !== incident.status;
    if (a.status !== undefined && !moving && !comment) throw conflict(`Incident #${id} is ${incident.status} already`);
    if (moving && !allowed(incident.status, a.status!)) {
      throw badRequest(`An incident that is ${incident.status} cannot become ${a.status}`, [{ field: 'status', message: `not allowed from ${incident.status}` }]);
    }
    const now = this.now();
    let action = 'comment';
    if (moving) {
      const to = a.status!;
      const result = await this.d.repo.setStatus(id, incident.status, to, now);
      if (result === 'changed') throw conflict(`Incident #${id} changed meanwhile; reload it`);
      if (result === 'conflict') {
        const other = await this.d.repo.findActive(incident.rule_id, incident.group_key);
        throw conflict(`Another incident of the same rule and group is open (#${other?.id ?? '?'}); add to that one instead`);
      }
      action = actionFor(to);
      const key = indexKey(incident.rule_id, incident.group_key);
      if (to === 'open' || to === 'acknowledged') this.active.set(key, id);
      else {
        if (this.active.get(key) === id) this.active.delete(key);
        this.onClosed?.(incident.rule_id, incident.group_key);
      }
    } else await this.d.repo.touch(id, now);
    await this.d.repo.addHistory(id, { action, actorUserId: identity.user.id, actorUsername: identity.user.username, comment }, now);
    const after = (await this.d.repo.find(id))!;
    await this.d.events.record({
      type: 'security', severity: 'info', action: 'soc.incident_updated',
      message: `Incident #${id} ${action === 'comment' ? 'commented' : action.replace('_', ' ')} by ${identity.user.username}: ${incident.title}`.slice(0, 500),
      userId: incident.user_id, vmId: incident.vm_id, sourceIp: incident.source_ip,
      details: { incident_id: id, rule_id: incident.rule_id, action, from: incident.status, to: after.status, actor_user_id: identity.user.id, actor_username: identity.user.username, ...(comment ? { comment } : {}) },
    });
    return this.detail(after);
  }

  countActive(viewer: Viewer): Promise<number> {
    return this.d.repo.countActive(viewer.admin ? undefined : viewer.userId);
  }

  relatedIncidentEventIds(eventId: number): Promise<number[]> {
    return this.d.repo.relatedEventIds(eventId, 500);
  }

  private async detail(i: StoredIncident): Promise<SocIncidentDetail> {
    return { ...publicIncident(i), history: await this.d.repo.history(i.id), event_ids: await this.d.repo.eventIds(i.id, LINK_CAP) };
  }

  private now(): string {
    return this.d.clock.now().toISOString();
  }
}
