import type { StreamEvent } from '@twarga/contract';
import { EventSource } from 'eventsource';

export interface StreamError {
  /** HTTP status when the server refused the stream (401, 403…); undefined for network errors. */
  status?: number;
  message: string;
  /** true: the client gave up (it will not reconnect). */
  fatal: boolean;
}

export interface StreamHandlers {
  onEvent: (event: StreamEvent) => void;
  onOpen?: () => void;
  onError?: (err: StreamError) => void;
}

/**
 * The live events channel (GET /api/events/stream) with the token in an Authorization header
 * (a browser EventSource cannot send one; the eventsource package takes a fetch wrapper).
 * It reconnects by itself after network errors; an HTTP refusal ends it.
 */
export function openEventStream(baseUrl: string, token: string, handlers: StreamHandlers): { close: () => void } {
  const source = new EventSource(`${baseUrl}/api/events/stream`, {
    fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, authorization: `Bearer ${token}` } }),
  });
  source.onopen = () => handlers.onOpen?.();
  source.onmessage = (msg) => {
    let event: StreamEvent;
    try {
      event = JSON.parse(msg.data as string) as StreamEvent;
    } catch {
      return; // not ours: ignore rather than die on a proxy's garbage
    }
    handlers.onEvent(event);
  };
  source.onerror = (err) => {
    handlers.onError?.({ status: err.code, message: err.message ?? 'stream error', fatal: source.readyState === EventSource.CLOSED });
  };
  return { close: () => source.close() };
}
