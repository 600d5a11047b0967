import type { Event } from '@twarga/contract';

type Listener = (event: Event) => void;
const listeners = new Set<Listener>();

/**
 * Recorded events ({kind:'event'} on the live stream) for whoever shows them (the SOC feed).
 * They do not go into the query cache: every request may record one, and only an open feed cares.
 * Returns the unsubscribe.
 */
export function subscribeRecordedEvents(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Hands one pushed event to every subscriber; one failing subscriber does not starve the others. */
export function publishRecordedEvent(event: Event): void {
  for (const listener of listeners) {
    try {
      listener(event);
    } catch (err) {
      console.error('a recorded-event listener failed', err);
    }
  }
}
