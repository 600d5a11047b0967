import { useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { subscribeRecordedEvents } from '../../events/recordedEvents';
import { socKeys } from './queries';

/** The statistics follow the events, at most this often (a flood is not a refetch storm). */
const STATS_EVERY_MS = 3_000;

/**
 * While the SOC page is open, pushed events keep its other parts fresh without polling: incident
 * and block events reload those lists, and any event reloads the statistics (throttled).
 */
export function useSocLiveInvalidation(): void {
  const queryClient = useQueryClient();
  useEffect(() => {
    let statsTimer: ReturnType<typeof setTimeout> | undefined;
    const off = subscribeRecordedEvents((e) => {
      if (e.code.startsWith('soc.incident_')) {
        void queryClient.invalidateQueries({ queryKey: socKeys.incidentsAll });
        void queryClient.invalidateQueries({ queryKey: ['soc', 'incident'] });
      }
      if (e.code.startsWith('soc.block_') || e.code === 'ssh.connection_refused') void queryClient.invalidateQueries({ queryKey: socKeys.blocks });
      if (e.code === 'soc.rule_updated') void queryClient.invalidateQueries({ queryKey: socKeys.rules });
      statsTimer ??= setTimeout(() => {
        statsTimer = undefined;
        void queryClient.invalidateQueries({ queryKey: socKeys.statistics });
      }, STATS_EVERY_MS);
    });
    return () => {
      off();
      clearTimeout(statsTimer);
    };
  }, [queryClient]);
}
