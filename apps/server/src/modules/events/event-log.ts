import type { FastifyBaseLogger } from 'fastify';
import type { Event } from '@twarga/contract';
import type { Clock } from '../../lib/time.js';
import { ADMINS_ONLY, type BusMessage, type LeaderListenerOptions, type LiveBus } from '../../operations/live-bus.js';
import type { EventsRepository, NewEvent } from './events.repository.js';

/**
 * Identical security events (same action, user, source address, message and details: for a 403
 * that is the path and the reason) starting within this window of the first fold into its row.
 */
export const REPEAT_WINDOW_MS = 60_000;

/** Rows per INSERT in recordMany (12 columns each: well under SQLite's and PostgreSQL's parameter limits). */
export const RECORD_MANY_CHUNK = 1000;

/** Occurrences of one event waiting for a single write. */
interface Batch {
  count: number;
  firstAt: string;
  lastAt: string;
  written: Promise<void>;
  done: () => void;
}

function newBatch(at: string): Batch {
  let done!: () => void;
  const written = new Promise<void>((resolve) => (done = resolve));
  return { count: 1, firstAt: at, lastAt: at, written, done };
}

/**
 * The EVENT LOG: the persistent, append-only record of what really happened (auth, security, VM
 * lifecycle, terminal, admin) for the SOC. A failure to record is logged, never turned into a
 * failed user request.
 *
 * Recording also publishes: every stored write goes out on the live bus as
 * `{ kind: 'event', event }` to the event's owner (its user; no user: admins only), so the SSE
 * stream, the rule engine and later modules subscribe in one place (`subscribe`). It is published
 * only once stored, so a listener never sees an event the log does not hold.
 *
 * Security events that repeat (a client hammering a route it may not use) are counted on the
 * first occurrence's row (count, last_seen) instead of each getting a row. The first occurrence
 * is written at once, so detection sees it without delay. While one write of an event is in
 * flight, its repeats gather into the next write: a flood costs a few UPDATEs, and no request
 * queues behind thousands of others. Other event types are one row each. Publishing follows the
 * writes: a flood of repeats is published once per write (with its new count), not per occurrence.
 */
export class EventLog {
  /** Per security event (repeatKey), the batch waiting for the write in flight to finish. */
  private readonly inFlight = new Map<string, { next?: Batch }>();

  constructor(
    private readonly repo: EventsRepository,
    private readonly clock: Clock,
    private readonly log: FastifyBaseLogger,
    private readonly bus: LiveBus,
  ) {}

  async record(event: NewEvent): Promise<void> {
    try {
      const at = this.clock.now().toISOString();
      if (event.type === 'security') await this.recordRepeatable(event, at);
      else this.publish(await this.repo.insert(event, at));
    } catch (err) {
      this.log.error({ err, event: event.action }, 'failed to record event');
    }
  }

  /**
   * Many events at once (the syslog ingest): one multi-row INSERT per batch of up to
   * RECORD_MANY_CHUNK, then each stored event is published, as record() does. Identical events
   * within the batch fold into one row (count, last_seen) like record()'s repeats; they are not
   * folded into rows written before the batch (the one statement stays a plain INSERT, which is
   * what keeps a flood of guest log lines cheap: the ingest's events carry the client's port, so
   * separate attempts differ anyway). Never throws: a failed batch is logged.
   */
  async recordMany(events: NewEvent[]): Promise<void> {
    const at = this.clock.now().toISOString();
    const rows = new Map<string, { event: NewEvent; timestamp: string; count: number; lastSeen: string }>();
    for (const event of events) {
      const key = event.type === 'security' ? repeatKey(event) : `#${rows.size}`;
      const row = rows.get(key);
      if (row) row.count++;
      else rows.set(key, { event, timestamp: at, count: 1, lastSeen: at });
    }
    const all = [...rows.values()];
    for (let i = 0; i < all.length; i += RECORD_MANY_CHUNK) {
      const chunk = all.slice(i, i + RECORD_MANY_CHUNK);
      try {
        for (const stored of await this.repo.insertMany(chunk)) this.publish(stored);
      } catch (err) {
        this.log.error({ err, events: chunk.length }, 'failed to record a batch of events');
      }
    }
  }

  /**
   * Calls `listener` with every event the log stores from now on (a folded repeat arrives again
   * with its new count). The one place rules and other modules hook in; returns the unsubscribe.
   * subscribe: the events this process stores; subscribeCluster: those every server process on the
   * database stores; subscribeLeader: those too, only while this process leads (one consumer in
   * the cluster: see LiveBus).
   */
  subscribe(listener: (event: Event) => void): () => void {
    return this.bus.subscribe(this.eventsTo(listener));
  }

  subscribeCluster(listener: (event: Event) => void): () => void {
    return this.bus.subscribeCluster(this.eventsTo(listener));
  }

  subscribeLeader(listener: (event: Event) => void, options?: LeaderListenerOptions): () => void {
    return this.bus.subscribeLeader(this.eventsTo(listener), options);
  }

  private eventsTo(listener: (event: Event) => void): (m: BusMessage) => void {
    return ({ event }) => {
      if (event.kind !== 'event') return;
      // One broken listener must not keep the event from the others (the stream, other rules).
      try {
        listener(event.event);
      } catch (err) {
        this.log.error({ err, event: event.event.action }, 'an event listener failed');
      }
    };
  }

  /** A live listener's failure (the stream, a rule) must not turn into a failed recording: the event is stored. */
  private publish(stored: Event): void {
    try {
      this.bus.publish(stored.user_id ?? ADMINS_ONLY, { kind: 'event', event: stored });
    } catch (err) {
      this.log.error({ err, event: stored.action }, 'a live listener failed on an event');
    }
  }

  list = (...args: Parameters<EventsRepository['list']>) => this.repo.list(...args);

  /** Resolves once a write that includes this occurrence is done (or failed and was logged). */
  private recordRepeatable(event: NewEvent, at: string): Promise<void> {
    const key = repeatKey(event);
    const flight = this.inFlight.get(key);
    if (flight) {
      if (flight.next) {
        flight.next.count++;
        flight.next.lastAt = at;
      } else flight.next = newBatch(at);
      return flight.next.written;
    }
    const first = newBatch(at);
    const state: { next?: Batch } = {};
    this.inFlight.set(key, state);
    void this.drain(key, event, state, first);
    return first.written;
  }

  private async drain(key: string, event: NewEvent, state: { next?: Batch }, first: Batch): Promise<void> {
    let batch: Batch | undefined = first;
    while (batch) {
      try {
        const since = new Date(Date.parse(batch.firstAt) - REPEAT_WINDOW_MS).toISOString();
        const folded = await this.repo.addRepeats(event, batch.count, since, batch.lastAt);
        this.publish(folded ?? (await this.repo.insert(event, batch.firstAt, batch.count, batch.lastAt)));
      } catch (err) {
        this.log.error({ err, event: event.action, occurrences: batch.count }, 'failed to record event');
      }
      batch.done();
      batch = state.next;
      state.next = undefined;
    }
    // Nothing awaits between the last check of state.next and this: no repeat can be left behind.
    this.inFlight.delete(key);
  }
}

/** Events with the same key are the same event happening again. */
function repeatKey(e: NewEvent): string {
  return JSON.stringify([e.type, e.severity ?? 'info', e.action, e.message, e.userId ?? null, e.username ?? null, e.vmId ?? null, e.sourceIp ?? null, e.details ?? {}]);
}
