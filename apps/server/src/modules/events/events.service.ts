import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../lib/time.js';
import type { EventsRepository, NewEvent } from './events.repository.js';

/**
 * Identical security events (same action, user, source address, message and details: for a 403
 * that is the path and the reason) starting within this window of the first fold into its row.
 */
export const REPEAT_WINDOW_MS = 60_000;

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
 * Records what really happened (auth, security, later VM lifecycle) for the SOC feed.
 * A failure to record is logged, never turned into a failed user request.
 *
 * Security events that repeat (a client hammering a route it may not use) are counted on the
 * first occurrence's row (count, last_seen) instead of each getting a row. The first occurrence
 * is written at once, so detection sees it without delay. While one write of an event is in
 * flight, its repeats gather into the next write: a flood costs a few UPDATEs, and no request
 * queues behind thousands of others. Other event types are one row each.
 */
export class EventsService {
  /** Per security event (repeatKey), the batch waiting for the write in flight to finish. */
  private readonly inFlight = new Map<string, { next?: Batch }>();

  constructor(
    private readonly repo: EventsRepository,
    private readonly clock: Clock,
    private readonly log: FastifyBaseLogger,
  ) {}

  async record(event: NewEvent): Promise<void> {
    try {
      const at = this.clock.now().toISOString();
      if (event.type === 'security') await this.recordRepeatable(event, at);
      else await this.repo.insert(event, at);
    } catch (err) {
      this.log.error({ err, event: event.action }, 'failed to record event');
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
        if (folded === undefined) await this.repo.insert(event, batch.firstAt, batch.count, batch.lastAt);
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
