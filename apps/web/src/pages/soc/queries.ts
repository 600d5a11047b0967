import { keepPreviousData, useInfiniteQuery, useQuery } from '@tanstack/react-query';
import type { IncidentStatus, SocEventQuery } from '@twarga/contract';
import { client } from '../../api';

type EventsQuery = Omit<SocEventQuery, 'limit' | 'cursor'>;

/** Every SOC query starts with 'soc': a gap in the live stream reloads them all (resyncAfterGap). */
export const socKeys = {
  all: ['soc'] as const,
  events: (q: EventsQuery) => ['soc', 'events', q] as const,
  event: (id: number) => ['soc', 'event', id] as const,
  statistics: ['soc', 'statistics'] as const,
  incidents: (status: IncidentStatus | 'all') => ['soc', 'incidents', status] as const,
  incidentsAll: ['soc', 'incidents'] as const,
  incident: (id: number) => ['soc', 'incident', id] as const,
  blocks: ['soc', 'blocks'] as const,
  rules: ['soc', 'rules'] as const,
};

export const PAGE_SIZE = 50;

/**
 * The feed's history, page by page (newest first; the cursor comes from X-Next-Cursor). Live
 * arrivals are kept by the feed itself: this is never polled.
 */
export const useEventPages = (q: EventsQuery, enabled: boolean) =>
  useInfiniteQuery({
    queryKey: socKeys.events(q),
    queryFn: ({ pageParam }) => client.soc.events({ ...q, limit: PAGE_SIZE, cursor: pageParam }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    enabled,
    staleTime: Infinity,
    refetchOnWindowFocus: false,
  });

export const useEventDetail = (id: number | undefined) =>
  useQuery({ queryKey: socKeys.event(id ?? 0), queryFn: () => client.soc.event(id!), enabled: id !== undefined, placeholderData: keepPreviousData });

/** Refreshed when events arrive (see useSocLiveInvalidation), not polled. */
export const useStatistics = () => useQuery({ queryKey: socKeys.statistics, queryFn: client.soc.statistics, staleTime: 10_000 });

export const useIncidents = (status: IncidentStatus | 'all') =>
  useQuery({ queryKey: socKeys.incidents(status), queryFn: () => client.soc.incidents.list({ status: status === 'all' ? undefined : status, limit: 200 }) });

export const useIncident = (id: number | undefined) =>
  useQuery({ queryKey: socKeys.incident(id ?? 0), queryFn: () => client.soc.incidents.get(id!), enabled: id !== undefined });

export const useBlocks = () => useQuery({ queryKey: socKeys.blocks, queryFn: () => client.soc.blocks.list({ active: true, limit: 500 }) });

export const useRules = (enabled: boolean) => useQuery({ queryKey: socKeys.rules, queryFn: client.soc.rules.list, enabled });
