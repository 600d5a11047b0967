/**
 * Benchmark: one metric's 24 h history of one VM, with 30 days of metrics for 20 VMs (and the
 * host) in a SQLite database, as the retention keeps them: raw 5 s samples for the last 24 h,
 * 1-minute rollups for 7 days, hourly rollups for 30 days.
 *
 *   npm run bench:metrics     (node --conditions=development --import tsx bench/metrics-history.ts)
 *
 * Rows go in through MetricsRepository.insert (the collector's path) with rollup rows shaped as
 * MetricsRepository.rollup writes them; the query runs the history endpoint's path (planHistory →
 * MetricsRepository.points → bucketSeries). Target: p95 < 30 ms. Also reports database bytes per
 * row at each resolution, growth per VM per day and the steady-state size per VM.
 * Exit code 0 when the target is met, 1 otherwise. The temp dir is removed on every exit path.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { VmMetricNames } from '@twarga/contract';
import { openDatabase } from '../apps/server/src/db/database.js';
import { bucketSeries, planHistory, type Retention } from '../apps/server/src/modules/metrics/history.js';
import { METRIC_COLUMNS } from '../apps/server/src/db/migrations/010_metrics.js';
import { encodeMinmax, MetricsRepository, type SampleRow } from '../apps/server/src/modules/metrics/metrics.repository.js';

const VMS = 20;
const DAYS = 30;
const INTERVAL = 5;
const QUERIES = 200;
const TARGET_P95_MS = 30;
const retention: Retention = { intervalSeconds: INTERVAL, rawSeconds: 86400, minuteSeconds: 7 * 86400, hourSeconds: 90 * 86400 };

const dir = mkdtempSync(path.join(os.tmpdir(), 'twarga-bench-metrics-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
process.on('SIGINT', () => process.exit(130));

const rnd = (max: number) => Math.round(Math.random() * max * 100) / 100;
function vmValues() {
  return {
    cpu_percent: rnd(100), memory_rss_bytes: 300e6 + rnd(1e6), guest_memory_used_bytes: 200e6 + rnd(1e8), guest_memory_total_bytes: 1e9,
    fs_used_bytes: 3e9 + rnd(1e8), fs_total_bytes: 1e10, disk_read_bps: rnd(1e7), disk_write_bps: rnd(1e7), net_rx_bps: null, net_tx_bps: null,
  };
}
function rollupRow(entityId: number, resolution: 60 | 3600, ts: number): SampleRow {
  const v = vmValues();
  // As MetricsRepository.rollup writes it: [min, max] per metric in METRIC_COLUMNS order.
  const minmax = METRIC_COLUMNS.map((c) => {
    const x = (v as Record<string, number | null>)[c];
    return x === null || x === undefined ? null : ([rnd(x * 0.8), rnd(x * 1.2)] as [number, number]);
  });
  return { entity: 'vm', entity_id: entityId, resolution, ts, ...v, minmax: encodeMinmax(minmax) };
}

async function main() {
  const db = await openDatabase({ dataDir: dir });
  const file = path.join(dir, 'twarga.db');
  const size = async () => {
    await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(db.db);
    return statSync(file).size;
  };
  const now = Math.floor(Date.now() / 1000 / 3600) * 3600;
  const load = async (resolution: 0 | 60 | 3600, span: number) => {
    const step = resolution === 0 ? INTERVAL : resolution;
    const before = await size();
    let n = 0;
    for (let vm = 1; vm <= VMS; vm++) {
      await db.db.transaction().execute(async (trx) => {
        const repo = new MetricsRepository(trx);
        const rows: SampleRow[] = [];
        for (let ts = now - span; ts < now; ts += step) {
          rows.push(resolution === 0 ? { entity: 'vm', entity_id: vm, resolution: 0, ts, ...vmValues(), minmax: null } : rollupRow(vm, resolution, ts));
        }
        n += rows.length;
        await repo.insert(rows);
      });
    }
    const bytes = (await size()) - before;
    return { rows: n, bytesPerRow: bytes / n };
  };
  const t0 = performance.now();
  const hour = await load(3600, DAYS * 86400);
  const minute = await load(60, 7 * 86400);
  const raw = await load(0, 86400);
  const loadSeconds = (performance.now() - t0) / 1000;

  const repo = new MetricsRepository(db.db);
  const times: number[] = [];
  const query = async (step?: number) => {
    const start = performance.now();
    const vm = 1 + Math.floor(Math.random() * VMS);
    const plan = planHistory('vm', { metric: ['cpu_percent'], range: '24h', step }, now, retention);
    const series = bucketSeries(plan, await repo.points('vm', vm, plan.resolution, plan.from, plan.to, plan.metrics));
    if (series[0]!.points.length < 0.9 * (86400 / plan.step)) throw new Error(`only ${series[0]!.points.length} points`);
    return performance.now() - start;
  };
  for (let i = 0; i < 20; i++) await query();
  for (let i = 0; i < QUERIES; i++) times.push(await query());
  const full: number[] = [];
  for (let i = 0; i < 50; i++) full.push(await query(INTERVAL));
  const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
  const total = await size();
  const growthPerVmDay = 17280 * raw.bytesPerRow + 1440 * minute.bytesPerRow + 24 * hour.bytesPerRow;
  const steadyPerVm = 17280 * raw.bytesPerRow + 10080 * minute.bytesPerRow + 2160 * hour.bytesPerRow;
  const kb = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
  const p95 = pct(times, 95);
  console.log(`metrics history bench: ${VMS} VMs × ${DAYS} days (${raw.rows + minute.rows + hour.rows} rows, ${(total / 2 ** 20).toFixed(1)} MiB SQLite, loaded in ${loadSeconds.toFixed(1)} s)`);
  console.log(`  bytes per row: raw ${raw.bytesPerRow.toFixed(0)}, 1-minute rollup ${minute.bytesPerRow.toFixed(0)}, hourly rollup ${hour.bytesPerRow.toFixed(0)} (${VmMetricNames.length} metrics a row)`);
  console.log(`  one metric, 24 h of one VM, default step (${planHistory('vm', { metric: ['cpu_percent'], range: '24h' }, now, retention).step} s), ${QUERIES} queries: p50 ${pct(times, 50).toFixed(2)} ms, p95 ${p95.toFixed(2)} ms, max ${Math.max(...times).toFixed(2)} ms (target p95 < ${TARGET_P95_MS} ms)`);
  console.log(`  same at full resolution (step ${INTERVAL} s, 17,280 points), 50 queries: p50 ${pct(full, 50).toFixed(2)} ms, p95 ${pct(full, 95).toFixed(2)} ms`);
  console.log(`  growth per VM per day: ${kb(growthPerVmDay)} written (17,280 raw + 1,440 minute + 24 hourly rows); steady state per VM with default retention (24 h raw, 7 d minutes, 90 d hours): ${kb(steadyPerVm)}`);
  await db.close();
  const ok = p95 < TARGET_P95_MS;
  console.log(ok ? 'PASS' : 'FAIL');
  process.exit(ok ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
