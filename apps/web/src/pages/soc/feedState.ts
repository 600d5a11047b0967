import type { Event } from '@twarga/contract';

/** How many live arrivals one feed keeps in memory (older ones are still in the pages). */
export const LIVE_MAX = 1000;

/**
 * The live part of a feed: events pushed since it loaded (`live`, shown), and, while paused, the
 * ones that arrived meanwhile (`pending`, counted in the "N new" badge and shown on resume).
 */
export interface FeedState {
  paused: boolean;
  live: Event[];
  pending: Event[];
}

export const emptyFeed = (paused = false): FeedState => ({ paused, live: [], pending: [] });

/** Newest first by id; the copy of an event with the higher count (a folded repeat) wins. */
function upsert(list: Event[], e: Event): Event[] {
  const i = list.findIndex((x) => x.id === e.id);
  if (i < 0) return [e, ...list].slice(0, LIVE_MAX);
  if (list[i]!.count > e.count) return list;
  const copy = list.slice();
  copy[i] = e;
  return copy;
}

/**
 * One pushed event. `shown`: whether the feed already lists it (a repeat folded into a shown row
 * updates that row in place, even while paused: no row moves, nothing is "new").
 */
export function arrive(state: FeedState, e: Event, shown: boolean): FeedState {
  if (!state.paused || shown || state.live.some((x) => x.id === e.id)) return { ...state, live: upsert(state.live, e) };
  return { ...state, pending: upsert(state.pending, e) };
}

export const pause = (state: FeedState): FeedState => ({ ...state, paused: true });

/** Resuming shows what arrived while paused. */
export function resume(state: FeedState): FeedState {
  let live = state.live;
  for (const e of [...state.pending].reverse()) live = upsert(live, e);
  return { paused: false, live, pending: [] };
}

/**
 * What the feed lists: the live arrivals and the loaded pages, each event once (the higher count
 * wins), newest first. Ids grow with time, so they order the two sources the same way.
 */
export function mergeFeed(live: readonly Event[], pages: readonly Event[]): Event[] {
  const byId = new Map<number, Event>();
  for (const e of [...live, ...pages]) {
    const seen = byId.get(e.id);
    if (!seen || e.count > seen.count) byId.set(e.id, e);
  }
  return [...byId.values()].sort((a, b) => b.id - a.id);
}
