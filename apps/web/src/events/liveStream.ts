import type { QueryClient } from '@tanstack/react-query';
import { keys } from '../api';
import { applyStreamEvent, parseStreamEvent, resyncAfterGap } from './applyEvent';

const STREAM_URL = '/api/events/stream';
/** Only a disconnection longer than this is worth telling the user about. */
const PAUSED_AFTER_MS = 5_000;
/** When the browser gives up (an HTTP error rather than a dropped connection), we retry with backoff. */
const RETRY_MIN_MS = 2_000;
const RETRY_MAX_MS = 60_000;

/** EventSource.CLOSED (a constant, so a test may pass its own EventSource class). */
const CLOSED = 2;

type EventSourceClass = new (url: string) => EventSource;

/**
 * One EventSource on the events stream (the session cookie authenticates it) feeding the query
 * cache. Reports `paused` after 5 s without a connection. Returns the function that closes it.
 */
export function openLiveStream(queryClient: QueryClient, onPaused: (paused: boolean) => void, Source: EventSourceClass = EventSource): () => void {
  let source: EventSource | undefined;
  let pausedTimer: ReturnType<typeof setTimeout> | undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let retryDelay = RETRY_MIN_MS;

  const down = () => {
    pausedTimer ??= setTimeout(() => onPaused(true), PAUSED_AFTER_MS);
  };
  const up = () => {
    clearTimeout(pausedTimer);
    pausedTimer = undefined;
    retryDelay = RETRY_MIN_MS;
    onPaused(false);
  };
  const onMessage = (e: MessageEvent) => {
    const event = parseStreamEvent(e.data);
    if (event) applyStreamEvent(queryClient, event);
  };

  const connect = () => {
    down(); // until the first open, we are not live either
    const es = new Source(STREAM_URL);
    source = es;
    es.onopen = () => {
      up();
      // Events sent before this open were missed: after a gap, and also on the first open, when
      // the page fetched its data a moment before subscribing (a VM that stopped in between
      // would otherwise say "stopping" until the next change).
      resyncAfterGap(queryClient);
    };
    es.onmessage = onMessage;
    // Also accept named events (event: vm / action / hello), should the server send them so.
    for (const name of ['vm', 'action', 'hello']) es.addEventListener(name, onMessage);
    es.onerror = () => {
      down();
      if (es.readyState !== CLOSED) return; // the browser reconnects by itself
      // It gave up (e.g. a 4xx/5xx answer). A 401 means the session ended: re-check who we are.
      es.close();
      void queryClient.invalidateQueries({ queryKey: keys.me });
      retryTimer = setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, RETRY_MAX_MS);
    };
  };

  connect();
  return () => {
    source?.close();
    clearTimeout(pausedTimer);
    clearTimeout(retryTimer);
  };
}
