import { Mutex } from 'async-mutex';
import type { FastifyBaseLogger } from 'fastify';
import type { Event, SocRule } from '@twarga/contract';
import type { Clock } from '../../../lib/time.js';
import type { EventLog } from '../../events/event-log.js';
import { isLoopback } from '../blocks/address.js';
import type { BlocksService } from '../blocks/blocks.service.js';
import type { IncidentsService } from '../incidents/incidents.service.js';
import { placeOf, targetOf, titleOf } from './attribution.js';
import { fieldValue, groupOf, matches, type Group } from './rule-fields.js';
import type { RulesRepository } from './rules.repository.js';
import { eventCountFires, RuleWindows, valueCountFires, type Occurrence } from './windows.js';

/** Events waiting for the engine; beyond this a flood is dropped (and counted) rather than exhausting memory. */
const MAX_INBOX = 100_000;
/** Events handled between two writes of the additions to active incidents. */
const BATCH = 500;
/** Security events whose folded count the engine remembers (a fold arrives within a minute of its row). */
const MAX_COUNTS = 20_000;
/**
 * A rule that keeps firing on its active incident (a campaign that goes on) writes "fired again"
 * into the incident's history at most this often; the entry says how many firings it stands for.
 */
export const REFIRE_NOTE_MS = 60_000;
/** Incidents whose last "fired again" note the engine remembers. */
const MAX_NOTES = 10_000;
/** A VM's owner and name, remembered this long for the incidents opened on it (a campaign opens many at once). */
const VM_CACHE_MS = 10_000;

export interface EngineDeps {
  rules: RulesRepository;
  incidents: IncidentsService;
  blocks: Pick<BlocksService, 'auto'>;
  vms: { find(id: number): Promise<{ user_id: number; name: string } | undefined> };
  events: Pick<EventLog, 'subscribeLeader'>;
  clock: Clock;
  log: FastifyBaseLogger;
}

interface Addition {
  n: number;
  lastSeen: string;
  ids: number[];
}

/**
 * The correlation engine. It follows every event the log stores (EventLog.subscribe), keeps the
 * enabled rules' sliding windows in memory per rule and group (bounded: see RuleWindows), and
 * when a rule's condition holds it opens an incident for the group, or notes on the active one
 * that the rule fired again, and applies the rule's response (a block). While an incident is
 * active, every further matching event of its group is added to it.
 *
 * Events marked as ours (details.ours: the server's own SSH probes and terminal) never count.
 * A folded security event arrives again with a higher count: only the increase counts.
 * Events are handled in arrival order, in batches; additions to active incidents are written
 * once per batch, so a flood costs a few writes, not one per event.
 */
export class DetectionEngine {
  private rules: SocRule[] = [];
  private readonly windows = new Map<string, RuleWindows>();
  private readonly counts = new Map<number, number>();
  private readonly additions = new Map<number, Addition>();
  /** Per active incident: when "fired again" was last written, and the firings since (not written yet). */
  private readonly notes = new Map<number, { at: number; held: number }>();
  private readonly vmCache = new Map<number, { at: number; vm: Promise<{ user_id: number; name: string } | undefined> }>();
  /** The VMs lookup for incidents' owners and titles, with a short memory (one query per VM, not per incident). */
  private readonly vms = {
    find: (id: number) => {
      const now = this.d.clock.now().getTime();
      const hit = this.vmCache.get(id);
      if (hit && now - hit.at < VM_CACHE_MS) return hit.vm;
      const vm = this.d.vms.find(id).then((v) => v && { user_id: v.user_id, name: v.name });
      this.vmCache.delete(id);
      this.vmCache.set(id, { at: now, vm });
      vm.catch(() => this.vmCache.delete(id));
      if (this.vmCache.size > 1000) this.vmCache.delete(this.vmCache.keys().next().value!);
      return vm;
    },
  };
  private readonly lock = new Mutex();
  private inbox: Event[] = [];
  private draining?: Promise<void>;
  private loaded = false;
  /** Another process may have led meanwhile, or changed a rule or an incident: read them again, start windows afresh. */
  private stale = false;
  private unsubscribe?: () => void;
  /** Events dropped because the inbox was full (reported in the log). */
  dropped = 0;

  constructor(private readonly d: EngineDeps) {}

  start(): void {
    // Leader only: events stored by every server process are counted together, once, so failed logins split over
    // processes add up and an incident opens once. Taking over, the engine starts afresh from the database.
    this.unsubscribe ??= this.d.events.subscribeLeader((e) => this.receive(e), { onLeading: () => (this.stale = true) });
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** Resolves once every event received so far is handled (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.draining || this.lock.isLocked()) await (this.draining ?? this.lock.waitForUnlock());
  }

  /** Reads the rules and the active incidents (start-up; also done before the first event). */
  load(): Promise<void> {
    return this.lock.runExclusive(() => this.loadAll());
  }

  /** Re-reads the rules after an admin changed one. A disabled rule's windows are dropped. */
  reload(): Promise<void> {
    return this.lock.runExclusive(() => this.loadRules());
  }

  /** An incident was resolved: its group's earlier events belong to it, the next one needs a threshold of its own. */
  forget(ruleId: string, groupKey: string): Promise<void> {
    return this.lock.runExclusive(() => this.windows.get(ruleId)?.clear(groupKey));
  }

  /** Drops groups with nothing inside their window any more (the periodic pass). */
  sweep(): Promise<void> {
    return this.lock.runExclusive(async () => {
      const now = this.d.clock.now().getTime();
      for (const rule of this.rules) this.windows.get(rule.id)?.sweep(now, rule.window_seconds);
    });
  }

  private receive(e: Event): void {
    // A rule or incident changed through any process (this one reloads at once as well: a second read is harmless).
    if (e.code === 'soc.rule_updated' || e.code === 'soc.incident_updated') this.loaded = false;
    if (this.inbox.length >= MAX_INBOX) {
      if (this.dropped++ % 10_000 === 0) this.d.log.warn({ dropped: this.dropped }, 'detection is behind: events dropped');
      return;
    }
    this.inbox.push(e);
    this.draining ??= this.drain();
  }

  private async drain(): Promise<void> {
    try {
      while (this.inbox.length > 0) {
        const batch = this.inbox.splice(0, BATCH);
        // A failing batch (the database away) is logged and skipped: the next one still runs.
        await this.lock
          .runExclusive(async () => {
            if (this.stale) this.forgetAll();
            if (!this.loaded) await this.loadAll();
            for (const e of batch) await this.handle(e);
            await this.flushAdditions();
          })
          .catch((err) => this.d.log.error({ err, events: batch.length }, 'detection failed on a batch of events'));
      }
    } finally {
      this.draining = undefined;
    }
  }

  private forgetAll(): void {
    this.stale = false;
    this.loaded = false;
    this.windows.clear();
    this.counts.clear();
    this.additions.clear();
    this.notes.clear();
  }

  private async loadAll(): Promise<void> {
    await this.loadRules();
    await this.d.incidents.load();
    this.loaded = true;
  }

  private async loadRules(): Promise<void> {
    this.rules = (await this.d.rules.list()).filter((r) => r.enabled);
    const enabled = new Set(this.rules.map((r) => r.id));
    for (const id of [...this.windows.keys()]) if (!enabled.has(id)) this.windows.delete(id);
  }

  private async handle(e: Event): Promise<void> {
    if (e.details?.ours === true) return;
    const n = this.increase(e);
    if (n <= 0) return;
    for (const rule of this.rules) {
      try {
        if (rule.kind === 'new_value') await this.newValue(rule, e, n);
        else if (rule.kind === 'temporal_ordered') await this.temporal(rule, e, n);
        else await this.counting(rule, e, n);
      } catch (err) {
        this.d.log.error({ err, rule: rule.id, event: e.id }, 'a detection rule failed on an event');
      }
    }
  }

  /** How many new occurrences this publication of the event stands for. */
  private increase(e: Event): number {
    if (e.type !== 'security') return 1;
    const before = this.counts.get(e.id);
    this.counts.delete(e.id);
    this.counts.set(e.id, e.count);
    if (this.counts.size > MAX_COUNTS) this.counts.delete(this.counts.keys().next().value!);
    return before === undefined ? e.count : e.count - before;
  }

  private occurrence(e: Event, n: number, extra: Partial<Occurrence> = {}): Occurrence {
    const t = Date.parse(e.last_seen ?? e.timestamp);
    return { t, n, eventId: e.id, code: e.code, userId: e.user_id, username: e.username, vmId: e.vm_id, sourceIp: fieldValue(e, 'source_ip') as string | null, ...extra };
  }

  private windowsOf(rule: SocRule): RuleWindows {
    let w = this.windows.get(rule.id);
    if (!w) this.windows.set(rule.id, (w = new RuleWindows()));
    return w;
  }

  /** event_count and value_count. */
  private async counting(rule: SocRule, e: Event, n: number): Promise<void> {
    if (!rule.match || !matches(rule.match, e)) return;
    let value;
    if (rule.kind === 'value_count') {
      value = fieldValue(e, rule.value_field ?? '');
      if (value === null) return;
    }
    const group = groupOf(rule, e);
    // The window keeps its sum and distinct values as arrivals come and go: O(1) per event, however long the attack.
    const w = this.windowsOf(rule).add(group.key, this.occurrence(e, n, { value }), rule.window_seconds);
    const active = this.addToActive(rule, group, e, n);
    const fires = rule.kind === 'event_count' ? eventCountFires(rule, w) : valueCountFires(rule, w);
    if (!fires) return;
    this.windowsOf(rule).clear(group.key);
    const what = rule.kind === 'event_count' ? `${w.sum} matching events` : `${w.distinct} different ${rule.value_field}`;
    await this.fire(rule, group, w.occurrences(), active, `${what} (${rule.match.codes.join(', ')}) within ${rule.window_seconds} s (threshold ${rule.threshold})`);
  }

  private async temporal(rule: SocRule, e: Event, n: number): Promise<void> {
    const sequence = rule.sequence ?? [];
    const steps = sequence.flatMap((s, i) => (matches(s.match, e) ? [i] : []));
    if (steps.length === 0) return;
    const group = groupOf(rule, e);
    const w = this.windowsOf(rule).add(group.key, this.occurrence(e, n, { steps }), rule.window_seconds);
    // An active incident of this rule gets the events that complete it again (another success), not every step.
    const active = steps.includes(sequence.length - 1) ? this.addToActive(rule, group, e, n) : undefined;
    const used = w.sequence(rule);
    if (!used) return;
    this.windowsOf(rule).clear(group.key);
    const described = sequence.map((s) => `${s.min_count ?? 1}× ${s.match.codes.join('/')}`).join(', then ');
    await this.fire(rule, group, used, active, `In order within ${rule.window_seconds} s: ${described}`);
  }

  private async newValue(rule: SocRule, e: Event, n: number): Promise<void> {
    if (!rule.match || !matches(rule.match, e)) return;
    const value = fieldValue(e, rule.value_field ?? '');
    if (value === null) return;
    const group = groupOf(rule, e);
    if (Object.values(group.values).some((v) => v === null)) return;
    const known = await this.d.rules.hasSeen(rule.id, group.key);
    const isNew = await this.d.rules.remember(rule.id, group.key, String(value), e.timestamp);
    // A known value is normal; the group's very first value is learned (there is nothing to compare with).
    if (!isNew || !known) return;
    const active = this.addToActive(rule, group, e, n);
    await this.fire(rule, group, [this.occurrence(e, n)], active, `${rule.value_field} ${value} not seen before for ${describeGroup(group)}`);
  }

  /** Queues the event for the rule's active incident of the group, if there is one; returns its id. */
  private addToActive(rule: SocRule, group: Group, e: Event, n: number): number | undefined {
    const id = this.d.incidents.activeId(rule.id, group.key);
    if (id === undefined) return undefined;
    const a = this.additions.get(id);
    const lastSeen = e.last_seen ?? e.timestamp;
    if (a) {
      a.n += n;
      if (lastSeen > a.lastSeen) a.lastSeen = lastSeen;
      if (a.ids.length < 1000) a.ids.push(e.id);
    } else this.additions.set(id, { n, lastSeen, ids: [e.id] });
    return id;
  }

  private async flushAdditions(): Promise<void> {
    if (this.additions.size === 0) return;
    const list = [...this.additions].map(([id, a]) => ({ id, n: a.n, lastSeen: a.lastSeen, eventIds: a.ids }));
    this.additions.clear();
    await this.d.incidents.addEventsMany(list);
  }

  /** The rule's condition holds for the group: open an incident (or note it on the active one) and respond. */
  private async fire(rule: SocRule, group: Group, occs: Occurrence[], activeId: number | undefined, description: string): Promise<void> {
    if (activeId !== undefined) {
      // Fired again on its active incident: no VM lookup (only opening needs the owner and the title).
      await this.noteRefired(activeId, description);
      await this.respond(rule, placeOf(group, occs), activeId);
      return;
    }
    const target = await targetOf(rule, group, occs, this.vms);
    let first = Infinity;
    let last = -Infinity;
    for (const o of occs) {
      if (o.t < first) first = o.t;
      if (o.t > last) last = o.t;
    }
    const { incident } = await this.d.incidents.open(
      {
        rule_id: rule.id, title: titleOf(rule, target), severity: rule.severity, mitre: rule.mitre, group_key: group.key, group: group.values,
        source_ip: target.sourceIp, vm_id: target.vmId, user_id: target.userId, event_count: occs.reduce((s, o) => s + o.n, 0),
        first_seen: new Date(first).toISOString(), last_seen: new Date(last).toISOString(),
      },
      occs.map((o) => o.eventId),
      description,
    );
    await this.respond(rule, target, incident.id);
  }

  /**
   * "The rule fired again" in the incident's history, at most once per REFIRE_NOTE_MS: a brute
   * force of thousands of attempts re-fires every few events, and a history of hundreds of
   * identical lines (one write each) helps nobody. The next note counts the firings it stands for.
   */
  private async noteRefired(incidentId: number, description: string): Promise<void> {
    const now = this.d.clock.now().getTime();
    const note = this.notes.get(incidentId);
    if (note && now - note.at < REFIRE_NOTE_MS) {
      note.held++;
      return;
    }
    const more = note && note.held > 0 ? ` (and ${note.held} more time${note.held === 1 ? '' : 's'} since the last note)` : '';
    this.notes.delete(incidentId);
    this.notes.set(incidentId, { at: now, held: 0 });
    if (this.notes.size > MAX_NOTES) this.notes.delete(this.notes.keys().next().value!);
    await this.d.incidents.refired(incidentId, `The rule fired again: ${description}${more}`);
  }

  private async respond(rule: SocRule, target: { sourceIp: string | null; vmId: number | null }, incidentId: number): Promise<void> {
    const block = rule.response.block;
    if (!block || !target.sourceIp) return;
    if (block.scope === 'vm' && target.vmId === null) return;
    // Never automatically: this machine itself (a local client, a reverse proxy in front of us).
    if (isLoopback(target.sourceIp)) return;
    await this.d.blocks.auto({
      address: target.sourceIp, scope: block.scope, vmId: block.scope === 'vm' ? target.vmId : null, durationSeconds: block.duration_seconds,
      reason: `Rule ${rule.id}: ${rule.title} (incident #${incidentId})`, incidentId, ruleId: rule.id,
    });
  }
}

function describeGroup(g: Group): string {
  return Object.entries(g.values).map(([k, v]) => `${k} ${v}`).join(', ');
}
