import type { Event, SocEventQuery } from '@twarga/contract';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { subscribeRecordedEvents } from '../../events/recordedEvents';
import { arrive, emptyFeed, mergeFeed, pause, resume, type FeedState } from './feedState';
import { matchesQuery } from './filters';
import { useEventPages } from './queries';

/**
 * The SOC feed: the loaded pages for the query, plus every matching event pushed on the live
 * stream since (no polling). Pause keeps the list still and counts what arrives; resume shows it.
 */
export function useSocFeed(q: Omit<SocEventQuery, 'limit' | 'cursor'>, enabled: boolean) {
  const pages = useEventPages(q, enabled);
  const [state, setState] = useState<FeedState>(emptyFeed);
  const key = JSON.stringify(q);

  // Another query is another feed: what arrived for the old one does not belong in it.
  useEffect(() => setState((s) => emptyFeed(s.paused)), [key]);

  const loaded = useMemo(() => pages.data?.pages.flatMap((p) => p.events) ?? [], [pages.data]);
  const loadedIds = useRef(new Set<number>());
  loadedIds.current = useMemo(() => new Set(loaded.map((e) => e.id)), [loaded]);

  useEffect(() => {
    if (!enabled) return;
    const query = JSON.parse(key) as typeof q;
    return subscribeRecordedEvents((e: Event) => {
      if (!matchesQuery(e, query)) return;
      setState((s) => arrive(s, e, loadedIds.current.has(e.id)));
    });
  }, [key, enabled]);

  const events = useMemo(() => mergeFeed(state.live, loaded), [state.live, loaded]);
  return {
    events,
    pages,
    paused: state.paused,
    newCount: state.pending.length,
    pause: useCallback(() => setState(pause), []),
    resume: useCallback(() => setState(resume), []),
  };
}
