import { HostMetricNames, MetricRanges, VmMetricNames, type MetricsHistory } from '@twarga/contract';
import { badRequest } from '../../http/errors.js';
import { aggregate, type MetricColumn, type Resolution, type StoredPoint } from './metrics.repository.js';

const RANGE_SECONDS: Record<(typeof MetricRanges)[number], number> = { '1h': 3600, '6h': 6 * 3600, '24h': 86400, '7d': 7 * 86400, '30d': 30 * 86400 };
/** At most this many points a series: a step that would give more is refused as too small. */
export const MAX_POINTS = 20_000;
/** Points a series gets when no step is given. */
const DEFAULT_POINTS = 720;

export interface Retention {
  intervalSeconds: number;
  rawSeconds: number;
  minuteSeconds: number;
  hourSeconds: number;
}

export interface HistoryPlan {
  metrics: MetricColumn[];
  from: number;
  to: number;
  step: number;
  resolution: Resolution;
}

/** Validates a history query; every 400 names what is valid. */
export function planHistory(
  entity: 'host' | 'vm',
  q: { metric: string[]; range?: string; from?: string; to?: string; step?: number },
  nowSec: number,
  ret: Retention,
): HistoryPlan {
  const valid: readonly string[] = entity === 'host' ? HostMetricNames : VmMetricNames;
  const metrics = [...new Set(q.metric.flatMap((m) => m.split(',')).map((m) => m.trim()).filter(Boolean))];
  if (metrics.length === 0) throw badRequest(`Name a metric: one of ${valid.join(', ')}`, [{ field: 'metric', message: `one or more of ${valid.join(', ')}` }]);
  const unknown = metrics.filter((m) => !valid.includes(m));
  if (unknown.length) throw badRequest(`Unknown ${entity} metric ${unknown.join(', ')}: valid metrics are ${valid.join(', ')}`, [{ field: 'metric', message: `one or more of ${valid.join(', ')}` }]);

  let from: number, to: number;
  if (q.from || q.to) {
    if (q.range) throw badRequest('Give either range or from/to, not both', [{ field: 'range', message: `one of ${MetricRanges.join(', ')}, or from/to alone` }]);
    if (!q.from) throw badRequest('from is required with to', [{ field: 'from', message: 'an ISO-8601 timestamp' }]);
    from = Math.floor(Date.parse(q.from) / 1000);
    to = q.to ? Math.ceil(Date.parse(q.to) / 1000) : nowSec;
    if (!(to > from)) throw badRequest('to must be after from', [{ field: 'to', message: 'a timestamp after from' }]);
  } else {
    const range = q.range ?? '1h';
    if (!(range in RANGE_SECONDS)) throw badRequest(`Unknown range ${range}: valid ranges are ${MetricRanges.join(', ')} (or from/to)`, [{ field: 'range', message: `one of ${MetricRanges.join(', ')}` }]);
    to = nowSec;
    from = nowSec - RANGE_SECONDS[range as keyof typeof RANGE_SECONDS];
  }
  const span = to - from;
  const oldest = nowSec - ret.hourSeconds;
  if (from < oldest - 3600) {
    throw badRequest(`Range too large: history goes back ${Math.round(ret.hourSeconds / 86400)} days`, [{ field: 'from', message: `not before ${new Date(oldest * 1000).toISOString()}; ranges ${MetricRanges.join(', ')}` }]);
  }
  // The finest data that both covers the start of the range and keeps the point count sane.
  const age = nowSec - from;
  const resolution: Resolution = span <= 86400 && age <= ret.rawSeconds ? 0 : span <= 7 * 86400 && age <= ret.minuteSeconds ? 60 : 3600;
  const resStep = resolution === 0 ? ret.intervalSeconds : resolution;
  const minStep = Math.max(resStep, Math.ceil(span / MAX_POINTS));
  const step = q.step ?? Math.max(minStep, Math.ceil(span / DEFAULT_POINTS / resStep) * resStep);
  if (step < minStep) {
    throw badRequest(`Step too small: at least ${minStep} s for this range (${resolution === 0 ? 'raw samples' : resolution === 60 ? '1-minute rollups' : 'hourly rollups'}, at most ${MAX_POINTS} points)`, [{ field: 'step', message: `an integer ≥ ${minStep}` }]);
  }
  if (step > span) throw badRequest(`Step too large: at most ${span} s for this range`, [{ field: 'step', message: `an integer ≤ ${span}` }]);
  return { metrics: metrics as MetricColumn[], from, to, step, resolution };
}

/** Buckets stored points by step: mean of values, min of minima, max of maxima; empty buckets are left out. */
export function bucketSeries(plan: HistoryPlan, points: StoredPoint[]): MetricsHistory['series'] {
  const buckets = new Map<number, StoredPoint[]>();
  for (const p of points) {
    const t = Math.floor(p.ts / plan.step) * plan.step;
    let b = buckets.get(t);
    if (!b) buckets.set(t, (b = []));
    b.push(p);
  }
  const times = [...buckets.keys()].sort((a, b) => a - b);
  return plan.metrics.map((metric) => ({
    metric,
    points: times.flatMap((t) => {
      const agg = aggregate(buckets.get(t)!, metric);
      return agg ? [{ t: new Date(t * 1000).toISOString(), avg: agg.avg, min: agg.min, max: agg.max }] : [];
    }),
  }));
}

export const resolutionName = (r: Resolution) => (r === 0 ? 'raw' : r === 60 ? '1m' : '1h') as MetricsHistory['resolution'];
