import type { MetricsHistory } from '@twarga/contract';
import type uPlot from 'uplot';

/** Two points further apart than this many steps have a gap between them (the VM was off, the server down…). */
const GAP_STEPS = 2.5;

let minutePrefix = '';
let minuteBase = 0;

/**
 * Seconds since the epoch of an ISO timestamp such as the server's 2026-11-30T12:00:05.000Z.
 * Points of the same minute share its first 17 characters: only their seconds are read then,
 * which is several times faster than Date.parse for 17,280 points a series.
 */
export function isoSeconds(t: string): number {
  if (minutePrefix && t.charCodeAt(t.length - 1) === 90 /* Z */ && t.startsWith(minutePrefix) && (t.length === 20 || t.length === 24)) {
    return minuteBase + Number(t.slice(17, -1));
  }
  const ms = Date.parse(t);
  // YYYY-MM-DDTHH:MM:SS(.sss)Z: remember its minute.
  if ((t.length === 20 || t.length === 24) && t[10] === 'T' && t[16] === ':' && t.endsWith('Z')) {
    minutePrefix = t.slice(0, 17);
    minuteBase = Date.parse(`${minutePrefix}00Z`) / 1000;
  }
  return ms / 1000;
}

/**
 * A history's series, in the given order, as uPlot's aligned data: one shared x array (seconds)
 * and one y array per metric, with null where a metric has no point at that time, and a null
 * row inserted where the data has a hole, so the line breaks instead of bridging it.
 * `transform` turns stored values into shown ones (e.g. bytes into percent); null stays null.
 */
export function alignHistory(
  history: Pick<MetricsHistory, 'series' | 'step'> | undefined,
  metrics: readonly string[],
  transform?: (metric: string, value: number, t: number) => number | null,
): uPlot.AlignedData {
  if (!history) return [[], ...metrics.map(() => [])] as uPlot.AlignedData;
  const bySeries = metrics.map((m) => history.series.find((s) => s.metric === m)?.points ?? []);
  // Times in seconds per series. Series usually share their timestamps: reuse the number parsed
  // for the same string at the same index of the previous series (17,280 × 10 Date.parse add up).
  let prevPoints: readonly { t: string }[] = [];
  let prevTimes = new Float64Array(0);
  const times = bySeries.map((points) => {
    const ts = new Float64Array(points.length);
    for (let i = 0; i < points.length; i++) {
      const t = points[i]!.t;
      ts[i] = i < prevPoints.length && prevPoints[i]!.t === t ? prevTimes[i]! : isoSeconds(t);
    }
    if (points.length) [prevPoints, prevTimes] = [points, ts];
    return ts;
  });
  // The union of the (each sorted) series' times, in order. Usually they are all the same times.
  const longest = times.reduce((a, b) => (b.length > a.length ? b : a), new Float64Array(0));
  const same = times.every((ts) => ts.length === 0 || ts === longest || (ts.length === longest.length && ts.every((t, i) => t === longest[i])));
  let all = longest;
  if (!same) {
    all = new Float64Array(times.reduce((n, ts) => n + ts.length, 0));
    let o = 0;
    for (const ts of times) {
      all.set(ts, o);
      o += ts.length;
    }
    all.sort();
  }
  const gap = Math.max(1, history.step) * GAP_STEPS;
  const xs: number[] = [];
  for (let i = 0; i < all.length; i++) {
    const t = all[i]!;
    const last = xs.length ? xs[xs.length - 1]! : NaN;
    if (t === last) continue;
    if (t - last > gap) xs.push(last + history.step); // the gap marker
    xs.push(t);
  }
  const ys = times.map((ts, k) => {
    const y: (number | null)[] = new Array<number | null>(xs.length).fill(null);
    const points = bySeries[k]!;
    const metric = metrics[k]!;
    // Both sorted: walk them together.
    let j = 0;
    for (let i = 0; i < ts.length; i++) {
      while (xs[j] !== ts[i]) j++;
      const v = points[i]!.avg;
      y[j] = v === null ? null : transform ? transform(metric, v, ts[i]!) : v;
    }
    return y;
  });
  return [xs, ...ys] as uPlot.AlignedData;
}
