import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { keys } from '../api';
import { applyStreamEvent, parseStreamEvent, resyncAfterGap } from './applyEvent';

export const STREAM_URL = '/api/events/stream';
/** Only a disconnection longer than this is worth telling the user about. */
const PAUSED_AFTER_MS = 5_000;
/** When the browser gives up (an HTTP error rather than a dropped connection), we retry with backoff. */
const RETRY_MIN_MS = 2_000;
const RETRY_MAX_MS = 60_000;

/**
 * Live updates without polling: one EventSource on the events stream (the session cookie
 * authenticates it) feeding the query cache. Mount it once, in the signed-in layout.
 * Returns `paused` = true while the stream has been down for more than 5 s.
 */
export function useLiveEvents(): { paused: boolean } {
  const queryClient = useQueryClient();
  const [paused, setPaused] = useState(false);

  useEffect(() => {
    if (typeof EventSource === 'undefined') return;
    let source: EventSource | undefined;
    let pausedTimer: ReturnType<typeof setTimeout> | undefined;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    let retryDelay = RETRY_MIN_MS;
    let everOpened = false;

    const down = () => {
      pausedTimer ??= setTimeout(() => setPaused(true), PAUSED_AFTER_MS);
    };
    const up = () => {
      clearTimeout(pausedTimer);
      pausedTimer = undefined;
      retryDelay = RETRY_MIN_MS;
      setPaused(false);
    };
    const onMessage = (e: MessageEvent) => {
      const event = parseStreamEvent(e.data);
      if (event) applyStreamEvent(queryClient, event);
    };

    const connect = () => {
      down(); // until the first open, we are not live either
      const es = new EventSource(STREAM_URL);
      source = es;
      es.onopen = () => {
        up();
        if (everOpened) resyncAfterGap(queryClient); // we may have missed events meanwhile
        everOpened = true;
      };
      es.onmessage = onMessage;
      // Also accept named events (event: vm / action / hello), should the server send them so.
      for (const name of ['vm', 'action', 'hello']) es.addEventListener(name, onMessage);
      es.onerror = () => {
        down();
        if (es.readyState !== EventSource.CLOSED) return; // the browser reconnects by itself
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
  }, [queryClient]);

  return { paused };
}
