import type { AlertValues } from './alert-metrics.js';

/**
 * A window counts as covered once its samples span this share of it: a policy neither opens nor
 * resolves on the first minute of data after a start, yet a 5-minute window is usable after 4 minutes.
 */
export const WINDOW_COVERAGE = 0.8;

interface Point {
  t: number;
  values: AlertValues;
}

/**
 * One entity's recent samples, by their own sampled_at time (not the time they arrived). Samples
 * older than the horizon are dropped; a sample not newer than the last one is ignored.
 */
export class RollingWindow {
  private points: Point[] = [];

  constructor(private horizonMs: number) {}

  setHorizon(ms: number): void {
    this.horizonMs = ms;
  }

  add(t: number, values: AlertValues): boolean {
    const last = this.points.at(-1);
    if (last && t <= last.t) return false;
    this.points.push({ t, values });
    const cutoff = t - this.horizonMs;
    let drop = 0;
    while (drop < this.points.length && this.points[drop]!.t <= cutoff) drop++;
    if (drop > 0) this.points.splice(0, drop);
    return true;
  }

  get size(): number {
    return this.points.length;
  }

  /**
   * The average of a metric over the last windowSec seconds, ending at the newest sample, or
   * undefined when it cannot be judged: the newest sample has no value for it (the agent went
   * away: "unknown" is never read as 0), or the values do not cover WINDOW_COVERAGE of the window.
   * Null values inside the window are skipped, not averaged in as zeros.
   */
  average(metric: string, windowSec: number): number | undefined {
    const newest = this.points.at(-1);
    if (!newest) return undefined;
    const latest = newest.values[metric];
    if (latest === null || latest === undefined || !Number.isFinite(latest)) return undefined;
    const from = newest.t - windowSec * 1000;
    let sum = 0;
    let n = 0;
    let oldest = newest.t;
    for (let i = this.points.length - 1; i >= 0; i--) {
      const p = this.points[i]!;
      if (p.t <= from) break;
      const v = p.values[metric];
      if (v === null || v === undefined || !Number.isFinite(v)) continue;
      sum += v;
      n++;
      oldest = p.t;
    }
    if (newest.t - oldest < WINDOW_COVERAGE * windowSec * 1000) return undefined;
    return sum / n;
  }
}
