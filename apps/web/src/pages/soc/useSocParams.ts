import { useCallback, useMemo } from 'react';
import { useSearchParams } from 'react-router';
import { readFilters, writeFilters, type SocFilters } from './filters';

export const SOC_TABS = ['events', 'incidents', 'blocks', 'rules'] as const;
export type SocTab = (typeof SOC_TABS)[number];

const positiveInt = (v: string | null) => (v && /^\d{1,9}$/.test(v) && Number(v) > 0 ? Number(v) : undefined);

/**
 * The SOC page's state in the query string, so a view (tab, filters, all tenants, the event or
 * incident open) can be shared and survives a reload.
 */
export function useSocParams() {
  const [params, setParams] = useSearchParams();
  const filters = useMemo(() => readFilters(params), [params]);
  const tabParam = params.get('tab');
  const tab: SocTab = SOC_TABS.includes(tabParam as SocTab) ? (tabParam as SocTab) : 'events';

  /** Sets or removes single parameters (undefined removes), keeping the rest. */
  const set = useCallback(
    (changes: Record<string, string | undefined>, replace = false) =>
      setParams(
        (prev) => {
          const next = new URLSearchParams(prev);
          for (const [k, v] of Object.entries(changes)) {
            if (v === undefined || v === '') next.delete(k);
            else next.set(k, v);
          }
          return next;
        },
        { replace },
      ),
    [setParams],
  );

  return {
    params,
    tab,
    filters,
    allTenants: params.get('all') === '1',
    eventId: positiveInt(params.get('event')),
    incidentId: positiveInt(params.get('incident')),
    set,
    setFilters: useCallback((f: SocFilters) => setParams((prev) => writeFilters(prev, f)), [setParams]),
  };
}

export type SocParams = ReturnType<typeof useSocParams>;
