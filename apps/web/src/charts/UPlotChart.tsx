import { useEffect, useRef } from 'react';
import type uPlot from 'uplot';
import { useTheme } from '../theme';
import { CHART_PALETTES } from './chartTheme';
import { chartOptions, type ChartSeries } from './options';
import type { Unit } from './units';

let loading: Promise<typeof uPlot> | undefined;
/** uPlot (and its CSS), fetched once, the first time a chart shows. */
const loadUPlot = () => (loading ??= import('./uplot').then((m) => m.default));

export interface UPlotChartProps {
  /** The chart's accessible name (it is a picture: the numbers are also in the text next to it). */
  label: string;
  /** uPlot's aligned data: [x seconds, ...one array per series]; null is a gap. */
  data: uPlot.AlignedData;
  series: readonly ChartSeries[];
  unit: Unit;
  height?: number;
  /** A sparkline: no axes, legend or cursor. */
  sparkline?: boolean;
  /** Seconds shown, ending at the newest point (e.g. 3600 for the last hour). */
  spanSeconds?: number;
  testId?: string;
}

/**
 * One uPlot, created once per shape (series, unit, theme) and fed with setData afterwards:
 * a new point never rebuilds the chart. It follows its container's width. The container carries
 * data-points (points per series) and data-render-ms (the last setData, drawing included), which
 * the browser test and the bench read.
 */
export function UPlotChart({ label, data, series, unit, height = 200, sparkline = false, spanSeconds, testId }: UPlotChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const latest = useRef(data);
  latest.current = data;
  const { theme } = useTheme();
  const shape = JSON.stringify([series, unit, height, sparkline, spanSeconds, theme]);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    let cancelled = false;
    let ro: ResizeObserver | undefined;
    void loadUPlot().then((UPlot) => {
      if (cancelled) return;
      const opts = chartOptions({ series, unit, height, sparkline, spanSeconds, width: el.clientWidth || 300, palette: CHART_PALETTES[theme] });
      // The newest data: more may have arrived while uPlot loaded.
      const u = new UPlot(opts, latest.current, el);
      plot.current = u;
      el.dataset.points = String(latest.current[0]?.length ?? 0);
      ro = new ResizeObserver(() => {
        const w = el.clientWidth;
        if (w > 0 && w !== u.width) u.setSize({ width: w, height });
      });
      ro.observe(el);
    });
    return () => {
      cancelled = true;
      ro?.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
    // `shape` stands for series/unit/height/sparkline/span/theme: re-create only when one of them changes.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [shape]);

  useEffect(() => {
    const u = plot.current;
    const el = box.current;
    if (!u || !el || u.data === data) return;
    const started = performance.now();
    // batch: draw now rather than in a microtask, so the time measured includes the drawing.
    u.batch(() => u.setData(data));
    el.dataset.renderMs = (performance.now() - started).toFixed(1);
    el.dataset.points = String(data[0]?.length ?? 0);
  }, [data]);

  return <div ref={box} role="img" aria-label={label} data-testid={testId} className={`twarga-chart w-full ${sparkline ? 'twarga-sparkline' : ''}`} />;
}
