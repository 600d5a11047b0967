import { Semaphore } from 'async-mutex';
import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../lib/time.js';
import type { EventLog } from '../events/event-log.js';
import type { ChannelRecord, ChannelsRepository } from './channels.repository.js';
import type { DeliveriesRepository } from './deliveries.repository.js';
import type { AttemptOutcome, Senders } from './senders.js';

export interface QueueDeps {
  channels: ChannelsRepository;
  deliveries: DeliveriesRepository;
  senders: Pick<Senders, 'send' | 'close'>;
  /** The channel's signing secret in clear, or null. */
  secretOf: (channel: ChannelRecord) => string | null;
  events: EventLog;
  clock: Clock;
  log: FastifyBaseLogger;
  /** Waits before the 2nd, 3rd… attempt (ms); attempts = retryDelaysMs.length + 1. */
  retryDelaysMs: number[];
  /** Sends in flight at once, across all deliveries. */
  concurrency?: number;
}

/**
 * Sends deliveries in the background. Each delivery runs its own chain of attempts with backoff;
 * the database row is the state (attempts, status, outcome), so a restart resumes pending ones
 * (`resume`). Nothing here throws to a caller, and no caller waits for the network unless it asks
 * to (`firstAttempt`, for "send test").
 */
export class DeliveryQueue {
  /** Deliveries with a chain running, and the promise of each one's first attempt. */
  private readonly active = new Map<number, Promise<void>>();
  private readonly chains = new Set<Promise<void>>();
  private readonly limit: Semaphore;
  private readonly stopping = new AbortController();

  constructor(private readonly deps: QueueDeps) {
    this.limit = new Semaphore(deps.concurrency ?? 4);
  }

  get maxAttempts(): number {
    return this.deps.retryDelaysMs.length + 1;
  }

  /** Starts delivering `id` (no-op if it is already under way). Returns at once. */
  enqueue(id: number): void {
    if (this.active.has(id) || this.stopping.signal.aborted) return;
    let first!: () => void;
    this.active.set(id, new Promise<void>((r) => (first = r)));
    const chain = this.run(id, first)
      .catch((err: unknown) => this.deps.log.error({ err, delivery: id }, 'notification delivery chain failed'))
      .finally(() => {
        first();
        this.active.delete(id);
        this.chains.delete(chain);
      });
    this.chains.add(chain);
  }

  /** Resolves when the first attempt of `id` (from now) is recorded, or after `ms`. */
  async firstAttempt(id: number, ms: number): Promise<void> {
    const p = this.active.get(id);
    if (!p) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([p, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
  }

  /** Picks up deliveries left pending by a previous run of the server. */
  async resume(): Promise<number> {
    const ids = await this.deps.deliveries.pendingIds();
    for (const id of ids) this.enqueue(id);
    return ids.length;
  }

  /** Resolves when no delivery is under way (tests; shutdown). */
  async idle(): Promise<void> {
    while (this.chains.size > 0) await Promise.allSettled([...this.chains]);
  }

  /** Stops retries and in-flight sends; unfinished deliveries stay pending for the next start. */
  async close(): Promise<void> {
    this.stopping.abort(); // wakes every back-off wait and cancels sends in flight
    await this.idle();
    this.deps.senders.close();
  }

  private sleep(ms: number): Promise<boolean> {
    if (ms <= 0) return Promise.resolve(!this.stopping.signal.aborted);
    const signal = this.stopping.signal;
    return new Promise((resolve) => {
      const onAbort = () => {
        clearTimeout(t);
        resolve(false);
      };
      const t = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve(!signal.aborted);
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private async run(id: number, firstDone: () => void): Promise<void> {
    const { deliveries, channels } = this.deps;
    let job = await deliveries.job(id);
    // A restart resumes after the back-off the last attempt asked for.
    if (job && job.status === 'pending' && job.attempts > 0) {
      if (!(await this.sleep(this.deps.retryDelaysMs[job.attempts - 1] ?? 0))) return;
    }
    while (job && job.status === 'pending' && !this.stopping.signal.aborted) {
      const channel = await channels.find(job.channel_id);
      if (!channel) return; // deleted with its channel
      const outcome = await this.limit.runExclusive(() => this.deps.senders.send(channel, job!, this.secret(channel), this.stopping.signal));
      if (this.stopping.signal.aborted) return; // shutting down: this attempt does not count
      const attempt = job.attempts + 1;
      const last = outcome.ok || !outcome.retryable || attempt >= this.maxAttempts;
      const status = outcome.ok ? 'delivered' : last ? 'failed' : 'pending';
      await deliveries.recordAttempt(id, { status, response_code: outcome.responseCode, error: outcome.error, finished_at: last ? this.deps.clock.now().toISOString() : null });
      firstDone();
      if (status === 'failed') await this.recordFailure(channel, job.id, job.topic, attempt, outcome);
      if (last) return;
      if (!(await this.sleep(this.deps.retryDelaysMs[attempt - 1] ?? 0))) return;
      job = await deliveries.job(id);
    }
  }

  private secret(channel: ChannelRecord): string | null {
    try {
      return this.deps.secretOf(channel);
    } catch (err) {
      this.deps.log.error({ err, channel: channel.id }, 'cannot unseal a webhook secret (was secrets.json replaced?)');
      return null;
    }
  }

  private recordFailure(channel: ChannelRecord, deliveryId: number, topic: string, attempts: number, outcome: AttemptOutcome): Promise<void> {
    return this.deps.events.record({
      type: 'system',
      severity: 'warning',
      action: 'notification.failed',
      message: `Notification to ${channel.kind} channel "${channel.name}" failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${outcome.error ?? 'unknown error'}`,
      userId: channel.user_id,
      details: { delivery_id: deliveryId, channel_id: channel.id, topic, attempts, response_code: outcome.responseCode },
    });
  }
}
