import { EventEmitter } from 'node:events';
import type { StreamEvent } from '@twarga/contract';

/**
 * The LIVE BUS: fan-out of live events (VM and action changes, metric samples, alerts, and every
 * event the event log stores) to whoever listens: the SSE stream, the alert engine, the SOC's
 * rules. Nothing here is kept; the persistent side is the event log (modules/events/event-log.ts).
 * The owner id lets listeners filter by who may see a message.
 *
 * With several server processes on one PostgreSQL, a relay (live-relay.ts) carries what each
 * process publishes to the others' buses. Each listener says which messages it wants:
 * - subscribe: what THIS process publishes (the relay itself; work another process does for its own);
 * - subscribeCluster: what every process publishes (the SSE stream, cutting terminals);
 * - subscribeLeader: what every process publishes, but only while this process leads the cluster's
 *   jobs (lib/leadership.ts), so that one process in the cluster consumes each message (alerts, rules).
 */
export interface BusMessage {
  /** The user the message is about; 0: nobody's (admins only); EVERY_USER: every signed-in user. */
  ownerId: number;
  event: StreamEvent;
}

/** Owner id of events every signed-in user receives (admins receive every owner's events anyway). */
export const EVERY_USER = -1;

/** Owner id of events no user owns (system, anonymous security events): only admins receive them. */
export const ADMINS_ONLY = 0;

type Listener = (m: BusMessage) => void;

export interface LeaderListenerOptions {
  /**
   * Called before the first message delivered after a time this process did not lead (and before
   * the very first one): what the listener kept in memory may have moved on elsewhere meanwhile.
   */
  onLeading?: () => void;
}

export class LiveBus {
  private readonly emitter = new EventEmitter<{ local: [BusMessage]; cluster: [BusMessage] }>();

  /** leadership: whether this process leads now (a lone process on SQLite always does). */
  constructor(private readonly leadership: { readonly leading: boolean } = { leading: true }) {
    this.emitter.setMaxListeners(0);
  }

  /** Whether leader-only listeners receive messages now (this process leads the cluster's jobs). */
  get leading(): boolean {
    return this.leadership.leading;
  }

  publish(ownerId: number, event: StreamEvent): void {
    const m = { ownerId, event };
    this.emitter.emit('local', m);
    this.emitter.emit('cluster', m);
  }

  /** A message another process published (from the relay): to cluster listeners only, never relayed again. */
  deliverFromElsewhere(m: BusMessage): void {
    this.emitter.emit('cluster', m);
  }

  /** Messages this process publishes. Returns the unsubscribe. */
  subscribe(listener: Listener): () => void {
    return this.on('local', listener);
  }

  /** Messages every process on this database publishes (this one's included). */
  subscribeCluster(listener: Listener): () => void {
    return this.on('cluster', listener);
  }

  /** Messages every process publishes, delivered only while this process leads: one consumer cluster-wide. */
  subscribeLeader(listener: Listener, options: LeaderListenerOptions = {}): () => void {
    let led = false;
    return this.on('cluster', (m) => {
      if (!this.leading) {
        led = false;
        return;
      }
      if (!led) options.onLeading?.();
      led = true;
      listener(m);
    });
  }

  private on(channel: 'local' | 'cluster', listener: Listener): () => void {
    this.emitter.on(channel, listener);
    return () => this.emitter.off(channel, listener);
  }
}
