import type { Insertable } from 'kysely';
import type { Db } from '../../db/database.js';
import { METRIC_COLUMNS } from '../../db/migrations/010_metrics.js';
import type { MetricSamplesTable } from '../../db/schema.js';

export type MetricColumn = (typeof METRIC_COLUMNS)[number];
export type Entity = 'host' | 'vm';
/** 0 raw, 60 one-minute rollup, 3600 hourly rollup. */
export type Resolution = 0 | 60 | 3600;
export type SampleRow = Insertable<MetricSamplesTable>;
export type Values = Partial<Record<MetricColumn, number | null>>;

/** One stored point: the value (average for rollups) and, for rollups, min and max. */
export interface StoredPoint {
  entityId: number;
  ts: number;
  values: Values;
  minmax: Partial<Record<MetricColumn, [number, number]>> | null;
}

/** Below both SQLite's and PostgreSQL's bound-parameter limits with ~22 columns a row. */
const BATCH = 500;

/** All SQL of the metrics module: samples, rollups, retention, and the VMs the collector samples. */
export class MetricsRepository {
  constructor(private readonly db: Db) {}

  async insert(rows: SampleRow[]): Promise<void> {
    for (let i = 0; i < rows.length; i += BATCH) {
      // A sample retaken in the same second (collect now + the timer) replaces nothing: first wins.
      await this.db.insertInto('metric_samples').values(rows.slice(i, i + BATCH)).onConflict((oc) => oc.doNothing()).execute();
    }
  }

  /** Points of some metrics of one entity at one resolution, ts in [from, to], oldest first. */
  async points(entity: Entity, entityId: number, resolution: Resolution, from: number, to: number, metrics: readonly MetricColumn[]): Promise<StoredPoint[]> {
    const cols = [...metrics, ...(resolution > 0 ? (['minmax'] as const) : [])];
    const rows = await this.db
      .selectFrom('metric_samples')
      .select(['entity_id', 'ts', ...cols])
      .where('entity', '=', entity)
      .where('entity_id', '=', entityId)
      .where('resolution', '=', resolution)
      .where('ts', '>=', from)
      .where('ts', '<=', to)
      .orderBy('ts')
      .execute();
    return rows.map((r) => toPoint(r as Record<string, unknown>, metrics));
  }

  /** Every entity's points at one resolution in [from, to): the rollup's input. */
  private async allPoints(resolution: Resolution, from: number, to: number): Promise<(StoredPoint & { entity: Entity })[]> {
    const rows = await this.db
      .selectFrom('metric_samples')
      .selectAll()
      .where('resolution', '=', resolution)
      .where('ts', '>=', from)
      .where('ts', '<', to)
      .execute();
    return rows.map((r) => ({ entity: r.entity, ...toPoint(r as unknown as Record<string, unknown>, METRIC_COLUMNS) }));
  }

  private async maxTs(resolution: Resolution): Promise<number | undefined> {
    const r = await this.db.selectFrom('metric_samples').select((eb) => eb.fn.max('ts').as('m')).where('resolution', '=', resolution).executeTakeFirst();
    return r?.m === null || r?.m === undefined ? undefined : Number(r.m);
  }

  /** The first sample at a resolution at or after a time. */
  private async firstTsFrom(resolution: Resolution, from: number): Promise<number | undefined> {
    const r = await this.db.selectFrom('metric_samples').select((eb) => eb.fn.min('ts').as('m')).where('resolution', '=', resolution).where('ts', '>=', from).executeTakeFirst();
    return r?.m === null || r?.m === undefined ? undefined : Number(r.m);
  }

  /**
   * Folds finished buckets of `source` into `target` (min of mins, mean of averages, max of maxes),
   * from the first source row after the last bucket made, up to the last complete bucket before
   * `nowSec` but at most maxBuckets at a time (after a long downtime the catch-up goes in bounded
   * steps: the pass holds no more than that in memory). Returns the number of rollup rows written.
   */
  async rollup(source: Resolution, target: 60 | 3600, nowSec: number, maxBuckets = target === 60 ? 60 : 6): Promise<number> {
    const last = await this.maxTs(target);
    const first = await this.firstTsFrom(source, last !== undefined ? last + target : 0);
    if (first === undefined) return 0;
    const from = Math.floor(first / target) * target;
    const to = Math.min(Math.floor(nowSec / target) * target, from + maxBuckets * target);
    if (to <= from) return 0;
    const buckets = new Map<string, { entity: Entity; entityId: number; ts: number; points: StoredPoint[] }>();
    for (const p of await this.allPoints(source, from, to)) {
      const ts = Math.floor(p.ts / target) * target;
      const key = `${p.entity}:${p.entityId}:${ts}`;
      let b = buckets.get(key);
      if (!b) buckets.set(key, (b = { entity: p.entity, entityId: p.entityId, ts, points: [] }));
      b.points.push(p);
    }
    const rows: SampleRow[] = [...buckets.values()].map((b) => {
      const values: Values = {};
      // Positional (METRIC_COLUMNS order), trailing nulls dropped: a few dozen bytes a row.
      const minmax: ([number, number] | null)[] = [];
      METRIC_COLUMNS.forEach((col, i) => {
        const agg = aggregate(b.points, col);
        values[col] = agg?.avg ?? null;
        if (agg) minmax[i] = [agg.min, agg.max];
      });
      return { entity: b.entity, entity_id: b.entityId, resolution: target, ts: b.ts, ...values, minmax: encodeMinmax(minmax) };
    });
    await this.insert(rows);
    return rows.length;
  }

  /** Deletes rows of one resolution older than cutoff (unix seconds); returns how many. */
  async deleteOlder(resolution: Resolution, cutoff: number): Promise<number> {
    const r = await this.db.deleteFrom('metric_samples').where('resolution', '=', resolution).where('ts', '<', cutoff).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  async countRows(): Promise<number> {
    const r = await this.db.selectFrom('metric_samples').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }
}

/** Rollup min/max as a JSON array in METRIC_COLUMNS order (null: the metric had no value). */
export function encodeMinmax(minmax: ([number, number] | null | undefined)[]): string {
  return JSON.stringify(Array.from(minmax, (x) => x ?? null));
}

function toPoint(r: Record<string, unknown>, metrics: readonly MetricColumn[]): StoredPoint {
  const values: Values = {};
  for (const m of metrics) values[m] = r[m] === null || r[m] === undefined ? null : Number(r[m]);
  let minmax: StoredPoint['minmax'] = null;
  if (typeof r.minmax === 'string') {
    const arr = JSON.parse(r.minmax) as ([number, number] | null)[];
    minmax = {};
    for (const m of metrics) {
      const v = arr[METRIC_COLUMNS.indexOf(m)];
      if (v) minmax[m] = v;
    }
  }
  return { entityId: Number(r.entity_id), ts: Number(r.ts), values, minmax };
}

/** min/avg/max of one metric over points (raw points: min = max = value); undefined if none has it. */
export function aggregate(points: StoredPoint[], col: MetricColumn): { min: number; avg: number; max: number } | undefined {
  let n = 0, sum = 0, min = Infinity, max = -Infinity;
  for (const p of points) {
    const v = p.values[col];
    if (v === null || v === undefined) continue;
    const [lo, hi] = p.minmax?.[col] ?? [v, v];
    n++;
    sum += v;
    min = Math.min(min, lo);
    max = Math.max(max, hi);
  }
  return n ? { min, avg: sum / n, max } : undefined;
}
