import { EventEmitter } from 'node:events';
import type { StreamEvent } from '@twarga/contract';

/**
 * The LIVE BUS: in-process fan-out of live events (VM and action changes, metric samples, alerts,
 * and every event the event log stores) to whoever listens: the SSE stream, the alert engine,
 * later the SOC's rules. Nothing here is kept; the persistent side is the event log
 * (modules/events/event-log.ts). The owner id lets listeners filter by who may see a message.
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

export class LiveBus {
  private readonly emitter = new EventEmitter<{ message: [BusMessage] }>();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  publish(ownerId: number, event: StreamEvent): void {
    this.emitter.emit('message', { ownerId, event });
  }

  subscribe(listener: (m: BusMessage) => void): () => void {
    this.emitter.on('message', listener);
    return () => this.emitter.off('message', listener);
  }
}
