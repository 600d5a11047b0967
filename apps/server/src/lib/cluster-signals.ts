import { EventEmitter } from 'node:events';

/** A request to the other server processes: a topic its listeners know, and a JSON payload. */
export interface ClusterSignal {
  topic: string;
  payload: unknown;
}

/**
 * Requests one server process makes of the others on the same PostgreSQL (e.g. "end terminal
 * session 12": only the process holding it can). The live relay carries them; a lone process
 * (SQLite, or no relay) has no one to ask, and its own work is done where it is asked.
 */
export class ClusterSignals {
  private readonly emitter = new EventEmitter<{ out: [ClusterSignal]; in: [ClusterSignal] }>();

  /** Asks the other processes (never this one: the caller does its own part itself). */
  send(topic: string, payload: unknown): void {
    this.emitter.emit('out', { topic, payload });
  }

  /** What the others asked, on one topic. Returns the unsubscribe. */
  on<T>(topic: string, listener: (payload: T) => void): () => void {
    const handler = (s: ClusterSignal) => s.topic === topic && listener(s.payload as T);
    this.emitter.on('in', handler);
    return () => this.emitter.off('in', handler);
  }

  /** A signal from another process (the relay). */
  deliverFromElsewhere(signal: ClusterSignal): void {
    this.emitter.emit('in', signal);
  }

  /** Signals this process sends (the relay carries them). Returns the unsubscribe. */
  onOutgoing(listener: (signal: ClusterSignal) => void): () => void {
    this.emitter.on('out', listener);
    return () => this.emitter.off('out', listener);
  }
}
