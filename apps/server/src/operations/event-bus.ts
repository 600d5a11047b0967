import { EventEmitter } from 'node:events';
import type { StreamEvent } from '@twarga/contract';

/** In-process fan-out of live events to the events channel (SSE). Owner id lets it filter. */
export interface BusMessage {
  ownerId: number;
  event: StreamEvent;
}

/** Owner id of events every signed-in user receives (admins receive every owner's events anyway). */
export const EVERY_USER = -1;

export class EventBus {
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
