import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { client, keys } from '../../api';
import { LIVE_RANGE } from './liveMetrics';

export const RANGES = ['1h', '6h', '24h', '7d', '30d'] as const;
export type Range = (typeof RANGES)[number];
export const RANGE_SECONDS: Record<Range, number> = { '1h': 3600, '6h': 6 * 3600, '24h': 86400, '7d': 7 * 86400, '30d': 30 * 86400 };

/**
 * Ranges past the live hour are rollups: they change by one point a step, so a calm refetch is
 * enough. The live hour is kept fresh by pushed samples and never polled.
 */
const REFETCH_MS: Record<Range, number | false> = { '1h': false, '6h': 60_000, '24h': 120_000, '7d': 600_000, '30d': 600_000 };

/**
 * A history of some metrics over a range. The server picks the resolution (raw, 1-minute or
 * hourly rollups) and its default step (about 720 points): 5 s for 1h, 30 s for 6h, 2 min for 24h,
 * 14 min for 7d, 1 h for 30d.
 */
export function useHistory(entity: 'host' | 'vm', id: number, range: Range, metrics: readonly string[], enabled = true) {
  return useQuery({
    queryKey: keys.metricsHistory(entity, id, range, metrics.join(',')),
    queryFn: () => (entity === 'host' ? client.metrics.hostHistory({ metric: metrics, range }) : client.metrics.vmHistory(id, { metric: metrics, range })),
    enabled,
    staleTime: range === LIVE_RANGE ? Infinity : 30_000,
    refetchInterval: REFETCH_MS[range],
    placeholderData: keepPreviousData,
  });
}

export const useHostMetrics = (enabled: boolean) => useQuery({ queryKey: keys.hostMetrics, queryFn: client.metrics.host, enabled, staleTime: Infinity });
export const useVmMetrics = (id: number, enabled = true) => useQuery({ queryKey: keys.vmMetrics(id), queryFn: () => client.metrics.vm(id), enabled, staleTime: Infinity });
export const useAlerts = (state: 'open' | 'resolved' | 'all', vmId: number | null = null) =>
  useQuery({ queryKey: keys.alerts(state, vmId), queryFn: () => client.metrics.alerts({ state, vm_id: vmId ?? undefined, limit: 100 }) });
export const usePolicies = () => useQuery({ queryKey: keys.alertPolicies, queryFn: client.alerts.policies.list });
export const useChannels = () => useQuery({ queryKey: keys.channels, queryFn: client.notifications.channels.list });
export const useDeliveries = (channelId: number | null = null) =>
  useQuery({ queryKey: keys.deliveries(channelId), queryFn: () => client.notifications.deliveries({ channel_id: channelId ?? undefined, limit: 50 }) });
