import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../db/database.js';
import type { ClusterSignal, ClusterSignals } from '../lib/cluster-signals.js';
import type { UserChanges } from '../lib/user-changes.js';
import type { BusMessage, LiveBus } from './live-bus.js';
import { LiveRelayRepository } from './live-relay.repository.js';

/** The PostgreSQL notification channel every server process on the database listens to. */
export const RELAY_CHANNEL = 'twarga_live';
/** PostgreSQL refuses a NOTIFY payload of 8000 bytes or more: above this, the payload goes through live_relay. */
export const MAX_NOTIFY_BYTES = 7900;
/** Messages waiting to go out while the database is away; beyond this the oldest are dropped. */
const MAX_OUTBOX = 10_000;
const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 5_000;

/** What is relayed: a bus message, "something about this user changed" (UserChanges), or a request to the others (ClusterSignals). */
type RelayItem = { bus: BusMessage } | { user: number } | { signal: ClusterSignal };

/** One notification: items inline, or the id of their row in live_relay. `from` names the process. */
interface Envelope {
  from: string;
  items?: RelayItem[];
  stored?: number;
}

export interface LiveRelayDeps {
  bus: LiveBus;
  /**
   * A logout, revocation, demotion or disable on one process must end that user's live terminals
   * and streams on every process (LiveAccess) and drop the cached identity there.
   */
  changes: UserChanges;
  signals: ClusterSignals;
  db: Db;
  /** Where the LISTEN connection goes (the server's database URL). */
  url: string;
  log: FastifyBaseLogger;
}

/**
 * The LIVE RELAY: carries what this process publishes on its bus to the other server processes
 * on the same PostgreSQL, and theirs to this one, through LISTEN/NOTIFY.
 * - Out: every message published here (LiveBus.subscribe: never one that came from elsewhere, so
 *   nothing loops) is queued and sent in order, several per NOTIFY when they fit; a payload of
 *   MAX_NOTIFY_BYTES or more is stored in live_relay and its id notified instead.
 * - In: a dedicated connection (not from the pool: LISTEN lives in its session) hears every
 *   notification; its own (same `from`) are skipped, the others go to the bus's cluster listeners.
 * - When that connection drops (PostgreSQL restarts, an admin ends it) the relay logs it and
 *   connects again with backoff; messages sent meanwhile are missed (the stream is live, not a log).
 */
export class LiveRelay {
  /** This process, in the envelopes: a process skips its own notifications. */
  readonly origin = randomUUID();
  private readonly repo: LiveRelayRepository;
  private outbox: RelayItem[] = [];
  private sending?: Promise<void>;
  /** Incoming payloads are handled one after another: a stored one (a read) does not overtake the next. */
  private incoming: Promise<void> = Promise.resolve();
  private client?: pg.Client;
  private readonly gone = new WeakSet<pg.Client>();
  private retry?: NodeJS.Timeout;
  private failures = 0;
  private wasLost = false;
  private closed = false;
  private unsubscribe?: () => void;
  private unsubscribeChanges?: () => void;
  private unsubscribeSignals?: () => void;

  constructor(private readonly d: LiveRelayDeps) {
    this.repo = new LiveRelayRepository(d.db);
  }

  /** Starts relaying. A database that cannot be reached now is retried in the background. */
  async start(): Promise<void> {
    this.unsubscribe ??= this.d.bus.subscribe((m) => this.send({ bus: m }));
    this.unsubscribeChanges ??= this.d.changes.onLocalChange((userId) => this.send({ user: userId }));
    this.unsubscribeSignals ??= this.d.signals.onOutgoing((signal) => this.send({ signal }));
    await this.listen().catch((err: unknown) => this.failed(err));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe?.();
    this.unsubscribeChanges?.();
    this.unsubscribeSignals?.();
    clearTimeout(this.retry);
    await this.sending;
    await this.incoming;
    const client = this.client;
    this.client = undefined;
    if (client) this.gone.add(client);
    await client?.end().catch(() => undefined);
  }

  /** Resolves once what was published so far is sent and what arrived so far is delivered (tests). */
  async idle(): Promise<void> {
    while (this.sending) await this.sending;
    await this.incoming;
  }

  /** True while the LISTEN connection is up. */
  get listening(): boolean {
    return this.client !== undefined;
  }

  private send(item: RelayItem): void {
    if (this.closed) return;
    this.outbox.push(item);
    if (this.outbox.length > MAX_OUTBOX) {
      this.outbox.splice(0, this.outbox.length - MAX_OUTBOX);
      this.d.log.warn('live relay: the database does not keep up; the oldest live messages were not relayed');
    }
    this.sending ??= this.drain().finally(() => (this.sending = undefined));
  }

  private async drain(): Promise<void> {
    while (this.outbox.length > 0) {
      const batch = this.nextBatch();
      try {
        const inline = `{"from":${JSON.stringify(this.origin)},"items":[${batch.join(',')}]}`;
        if (Buffer.byteLength(inline) < MAX_NOTIFY_BYTES) await this.repo.notify(RELAY_CHANNEL, inline);
        else {
          const id = await this.repo.store(`[${batch.join(',')}]`, new Date());
          await this.repo.notify(RELAY_CHANNEL, JSON.stringify({ from: this.origin, stored: id } satisfies Envelope));
        }
      } catch (err) {
        this.d.log.error({ err, messages: batch.length }, 'live relay: could not send live messages to the other server processes');
      }
    }
  }

  /** The next messages, as JSON, that fit in one notification together (or one oversized message alone). */
  private nextBatch(): string[] {
    const batch: string[] = [];
    let bytes = 100; // the envelope
    while (this.outbox.length > 0) {
      const text = JSON.stringify(this.outbox[0]);
      const size = Buffer.byteLength(text) + 1;
      if (batch.length > 0 && bytes + size >= MAX_NOTIFY_BYTES) break;
      batch.push(text);
      bytes += size;
      this.outbox.shift();
    }
    return batch;
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.d.url, keepAlive: true, connectionTimeoutMillis: 5_000 });
    // Unhandled, a connection error event would crash the server: it is a reason to reconnect.
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client));
    client.on('notification', (n) => n.channel === RELAY_CHANNEL && n.payload !== undefined && this.receive(n.payload));
    try {
      await client.connect();
      await client.query(`LISTEN ${RELAY_CHANNEL}`);
    } catch (err) {
      this.gone.add(client);
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.closed) {
      this.gone.add(client);
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.failures = 0;
    if (this.wasLost) this.d.log.info('live relay: listening again; live messages from the other server processes flow again');
    this.wasLost = false;
  }

  private lost(client: pg.Client, err?: Error): void {
    if (this.closed || this.gone.has(client)) return;
    this.gone.add(client);
    if (this.client === client) this.client = undefined;
    client.end().catch(() => undefined);
    this.d.log.warn({ err }, 'live relay: lost the LISTEN connection to PostgreSQL; reconnecting');
    this.wasLost = true;
    this.reconnectLater();
  }

  private failed(err: unknown): void {
    if (this.closed) return;
    this.d.log.warn({ err, attempt: this.failures + 1 }, 'live relay: cannot LISTEN on PostgreSQL; trying again');
    this.wasLost = true;
    this.reconnectLater();
  }

  private reconnectLater(): void {
    if (this.closed || this.retry) return;
    const delay = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** this.failures++);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.listen().catch((err: unknown) => this.failed(err));
    }, delay);
    this.retry.unref();
  }

  private receive(payload: string): void {
    this.incoming = this.incoming.then(async () => {
      try {
        const envelope = JSON.parse(payload) as Envelope;
        if (envelope.from === this.origin) return;
        const items = envelope.stored === undefined ? envelope.items : await this.readStored(envelope.stored);
        for (const item of items ?? []) this.deliver(item);
      } catch (err) {
        this.d.log.error({ err }, 'live relay: live messages from another server process could not be read');
      }
    });
  }

  /** One failing listener must not keep the message from the others, nor the next messages. */
  private deliver(item: RelayItem): void {
    try {
      if ('user' in item) this.d.changes.notifyFromElsewhere(item.user);
      else if ('signal' in item) this.d.signals.deliverFromElsewhere(item.signal);
      else this.d.bus.deliverFromElsewhere(item.bus);
    } catch (err) {
      const what = 'user' in item ? 'user change' : 'signal' in item ? item.signal.topic : item.bus.event.kind;
      this.d.log.error({ err, item: what }, 'live relay: a listener failed on a message from another server process');
    }
  }

  private async readStored(id: number): Promise<RelayItem[] | undefined> {
    const text = await this.repo.find(id);
    if (text === undefined) this.d.log.warn({ id }, 'live relay: an oversized live message was gone before it was read');
    return text === undefined ? undefined : (JSON.parse(text) as RelayItem[]);
  }
}
