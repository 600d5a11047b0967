import type { Alert, HostMetrics, HostMetricName, MetricsHistory, VmMetricName, VmMetrics } from '@twarga/contract';

/** The one range that grows live from pushed samples; longer ranges are rollups, loaded when shown. */
export const LIVE_RANGE = '1h';
const LIVE_SECONDS = 3600;

/**
 * The history with one more sample at `t` (ISO): a point per series it holds (null stays null: a
 * gap), points older than the live hour dropped. A sample not newer than a series' last point is
 * skipped (the history loaded after it was pushed). Returns the same object when nothing changed.
 */
export function appendSample(history: MetricsHistory, t: string, values: Record<string, number | null>): MetricsHistory {
  const at = Date.parse(t);
  const oldest = at - LIVE_SECONDS * 1000;
  let changed = false;
  const series = history.series.map((s) => {
    if (!(s.metric in values)) return s;
    const last = s.points[s.points.length - 1];
    if (last && Date.parse(last.t) >= at) return s;
    changed = true;
    const v = values[s.metric] ?? null;
    let start = 0;
    while (start < s.points.length && Date.parse(s.points[start]!.t) < oldest) start++;
    return { ...s, points: [...s.points.slice(start), { t, avg: v, min: v, max: v }] };
  });
  if (!changed) return history;
  return { ...history, series, to: t > history.to ? t : history.to, from: new Date(Math.max(Date.parse(history.from), oldest)).toISOString() };
}

/** Open alerts first, then the newest. */
export const alertOrder = (a: Alert, b: Alert) => (a.state === b.state ? Date.parse(b.opened_at) - Date.parse(a.opened_at) || b.id - a.id : a.state === 'open' ? -1 : 1);

/**
 * A cached alert list (filtered by state and VM) with a pushed alert put in, replaced, or taken
 * out (an alert that resolved leaves the "open" list).
 */
export function upsertAlert(list: Alert[], alert: Alert, state: string, vmId: number | null): Alert[] {
  const rest = list.filter((a) => a.id !== alert.id);
  const belongs = (state === 'all' || state === alert.state) && (vmId === null || alert.vm_id === vmId);
  return belongs ? [...rest, alert].sort(alertOrder) : rest;
}
