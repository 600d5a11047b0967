/**
 * Benchmark: the web UI's charts with 24 h of 5 s samples (17,280 points per series) in a real
 * Chromium (/usr/bin/chromium, headless, software rendering).
 *
 *   node --conditions=development --import tsx bench/chart-render.ts
 *
 * It bundles the app's own chart code (apps/web/src/charts: alignHistory, chartOptions, the theme
 * palette; apps/web/src/pages/monitor/liveMetrics: appendSample) with uPlot, and measures the VM
 * page's worst case: its ten metrics in five charts (CPU; memory ×3; filesystem ×2; disk ×2;
 * network ×2), each series 17,280 points.
 *   - first render: history → aligned data → new uPlot (drawn) for all five charts, 17,280 points each;
 *   - one more point on those 24 h charts (a refetch, or a sample appended): align + setData, drawn;
 *   - the live hour (720 points, what the app appends pushed samples to): appendSample + align +
 *     setData per sample; its p95 must fit one 60 Hz frame (16.7 ms) to be jank-free.
 * Exit code 0 when the targets are met (first render median < 200 ms, live append p95 < 16.7 ms), 1 otherwise.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { launchChromium } from '../tests/support/browser.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const POINTS = 17_280;
const APPENDS = 60;
const TARGET_FIRST_MS = 200;
const TARGET_APPEND_P95_MS = 1000 / 60;

const entry = `
import uPlot from 'uplot';
import { alignHistory } from './apps/web/src/charts/align';
import { chartOptions } from './apps/web/src/charts/options';
import { CHART_PALETTES } from './apps/web/src/charts/chartTheme';
import { appendSample } from './apps/web/src/pages/monitor/liveMetrics';

const CHARTS = [
  { unit: 'percent', metrics: ['cpu_percent'] },
  { unit: 'bytes', metrics: ['guest_memory_used_bytes', 'guest_memory_total_bytes', 'memory_rss_bytes'] },
  { unit: 'bytes', metrics: ['fs_used_bytes', 'fs_total_bytes'] },
  { unit: 'rate', metrics: ['disk_read_bps', 'disk_write_bps'] },
  { unit: 'rate', metrics: ['net_rx_bps', 'net_tx_bps'] },
];
const METRICS = CHARTS.flatMap((c) => c.metrics);

function history(points, step) {
  const end = Math.floor(Date.now() / 1000 / step) * step;
  const start = end - points * step;
  const series = METRICS.map((metric, k) => ({
    metric,
    points: Array.from({ length: points }, (_, i) => {
      // Every 1000th point missing (a gap), values that wander like real ones.
      const v = i % 1000 === 999 ? null : Math.abs(Math.sin(i / 300 + k)) * (metric.endsWith('percent') ? 100 : 5e8);
      return { t: new Date((start + i * step) * 1000).toISOString(), avg: v, min: v, max: v };
    }),
  }));
  return { entity: 'vm', vm_id: 1, from: new Date(start * 1000).toISOString(), to: new Date(end * 1000).toISOString(), step, resolution: 'raw', series };
}

function grow(h, step) {
  // One more sample on every series, none dropped (a 24 h view refetched, or appended to).
  const t = new Date(Date.parse(h.to) + step * 1000).toISOString();
  return { ...h, to: t, series: h.series.map((s) => ({ ...s, points: [...s.points, { t, avg: 1e8, min: 1e8, max: 1e8 }] })) };
}

const stats = (times) => {
  times.sort((a, b) => a - b);
  const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
  return { median: q(0.5), p95: q(0.95), max: times[times.length - 1] };
};

function render(h, span) {
  const root = document.getElementById('root');
  root.replaceChildren();
  return CHARTS.map((c) => {
    const box = document.createElement('div');
    box.style.width = '600px';
    root.appendChild(box);
    const opts = chartOptions({ series: c.metrics.map((m) => ({ label: m })), unit: c.unit, width: 600, height: 180, sparkline: false, palette: CHART_PALETTES.light, spanSeconds: span });
    return new uPlot(opts, alignHistory(h, c.metrics), box);
  });
}

/** One update of every chart from the history, drawn at once (the app's UPlotChart does the same). */
const update = (plots, h) => CHARTS.forEach((c, i) => plots[i].batch(() => plots[i].setData(alignHistory(h, c.metrics))));
const frame = () => new Promise((r) => requestAnimationFrame(() => r()));

window.bench = async ({ points, appends }) => {
  const step = 5;
  // 24 h of 5 s samples.
  let h = history(points, step);
  const firsts = [];
  let plots;
  for (let r = 0; r < 3; r++) {
    plots?.forEach((u) => u.destroy());
    const t0 = performance.now();
    plots = render(h, 86400);
    firsts.push(performance.now() - t0);
    await frame();
  }
  const updates = [];
  for (let n = 0; n < 10; n++) {
    h = grow(h, step);
    const s = performance.now();
    update(plots, h);
    updates.push(performance.now() - s);
    await frame();
  }
  const full = plots[0].data[0].length;
  plots.forEach((u) => u.destroy());
  // The live hour: what each pushed sample costs.
  let live = history(720, step);
  plots = render(live, 3600);
  const appendTimes = [];
  let t = Date.parse(live.to) / 1000;
  for (let n = 0; n < appends; n++) {
    t += step;
    const values = Object.fromEntries(METRICS.map((m) => [m, Math.random() * 1e8]));
    const s = performance.now();
    live = appendSample(live, new Date(t * 1000).toISOString(), values);
    update(plots, live);
    appendTimes.push(performance.now() - s);
    await frame();
  }
  return { pointsPerSeries: full, livePoints: plots[0].data[0].length, series: METRICS.length, first: stats(firsts), update: stats(updates), append: stats(appendTimes) };
};
`;

const bundle = await build({
  stdin: { contents: entry, resolveDir: root, loader: 'ts', sourcefile: 'chart-bench-entry.ts' },
  bundle: true,
  write: false,
  format: 'iife',
  platform: 'browser',
  conditions: ['development'],
  logLevel: 'error',
});

const browser = await launchChromium();
try {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 1200 } })).newPage();
  await page.setContent('<!doctype html><html><body><div id="root"></div></body></html>');
  await page.addScriptTag({ content: bundle.outputFiles[0]!.text });
  type Stats = { median: number; p95: number; max: number };
  type Result = { pointsPerSeries: number; livePoints: number; series: number; first: Stats; update: Stats; append: Stats };
  const r = await page.evaluate(({ points, appends }) => (window as unknown as { bench: (o: object) => Promise<Result> }).bench({ points, appends }), { points: POINTS, appends: APPENDS });
  const ms = (n: number) => `${n.toFixed(1)} ms`;
  const line = (x: Stats) => `median ${ms(x.median)}, p95 ${ms(x.p95)}, max ${ms(x.max)}`;
  console.log(`chart render: ${r.series} series × ${r.pointsPerSeries} points (24 h of 5 s samples) in 5 charts; uPlot in Chromium headless, software rendering`);
  console.log(`  first render (align + create + draw, all 5 charts), 3×: ${line(r.first)}   target < ${TARGET_FIRST_MS} ms`);
  console.log(`  one more point on the 24 h charts (align + setData + draw, all 5), 10×: ${line(r.update)}`);
  console.log(`  live hour (${r.livePoints} points): one pushed sample (appendSample + align + setData + draw, all 5), ${APPENDS}×: ${line(r.append)}   target p95 < ${ms(TARGET_APPEND_P95_MS)}`);
  const ok = r.first.median < TARGET_FIRST_MS && r.append.p95 < TARGET_APPEND_P95_MS;
  console.log(ok ? 'targets met' : 'TARGETS MISSED');
  process.exitCode = ok ? 0 : 1;
} finally {
  await browser.close();
}
