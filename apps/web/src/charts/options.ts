import type uPlot from 'uplot';
import type { ChartPalette } from './chartTheme';
import { formatUnit, type Unit } from './units';

export interface ChartSeries {
  label: string;
  /** Index into the palette's series colours. */
  color?: number;
  /** A dashed line (limits such as "total"). */
  dashed?: boolean;
}

export interface ChartOptionsInput {
  series: readonly ChartSeries[];
  unit: Unit;
  width: number;
  height: number;
  sparkline: boolean;
  palette: ChartPalette;
  /** The time span shown (seconds), ending at the newest point: a young VM's few points sit at the right of a whole hour. */
  spanSeconds?: number;
}

/** Tick steps in binary multiples (64 MiB, 128 MiB, 1 GiB…) for bytes and byte rates. */
const BINARY_INCRS = Array.from({ length: 6 }, (_, k) => [1, 2, 4, 8, 16, 32, 64, 128, 256, 512].map((m) => m * 1024 ** k)).flat();

/** The y range: percentages from 0 to at least 100; everything else from 0 with a little headroom. */
function yRange(unit: Unit): uPlot.Range.Function {
  return (_u, _min, max) => {
    const top = Number.isFinite(max) ? max : 0;
    if (unit === 'percent') return [0, Math.max(100, top)];
    // Rates and sizes start at a 1 KiB scale, so idle lines do not get axes of "0 B, 1 B, 1 B".
    if (unit === 'rate' || unit === 'bytes') return [0, Math.max(1024, top * 1.1)];
    return [0, top > 0 ? top * 1.1 : 1];
  };
}

/** uPlot options for one chart (x in seconds since the epoch, local time). */
/** The x range: the span up to the newest point (or now, with no points yet). */
function xRange(spanSeconds: number | undefined): uPlot.Range.Function | undefined {
  if (!spanSeconds) return undefined;
  return (_u, _min, max) => {
    const end = Number.isFinite(max) && max !== null ? max : Date.now() / 1000;
    return [end - spanSeconds, end];
  };
}

export function chartOptions({ series, unit, width, height, sparkline, palette, spanSeconds }: ChartOptionsInput): uPlot.Options {
  const fmt = formatUnit[unit];
  const lines: uPlot.Series[] = series.map((s, i) => {
    const stroke = palette.series[(s.color ?? i) % palette.series.length];
    return {
      label: s.label,
      stroke,
      width: sparkline ? 1.25 : 1.5,
      dash: s.dashed ? [6, 4] : undefined,
      fill: sparkline ? `${stroke}22` : undefined,
      // null is "not measured": a gap in the line, never a drop to 0.
      spanGaps: false,
      points: { show: false },
      value: (_u, v) => fmt(v),
    };
  });
  const axis = (extra: Partial<uPlot.Axis>): uPlot.Axis => ({
    stroke: palette.axis,
    grid: { stroke: palette.grid, width: 1 },
    ticks: { stroke: palette.grid, width: 1 },
    ...extra,
  });
  return {
    width,
    height,
    pxAlign: false,
    series: [{ label: 'Time' }, ...lines],
    scales: { x: { time: true, range: xRange(spanSeconds) }, y: { range: yRange(unit) } },
    axes: sparkline
      ? [{ show: false }, { show: false }]
      : [axis({}), axis({
          size: unit === 'bytes' || unit === 'rate' ? 78 : 52,
          incrs: unit === 'bytes' || unit === 'rate' ? BINARY_INCRS : undefined,
          values: (_u, splits) => splits.map((v) => fmt(v)),
        })],
    legend: { show: !sparkline, live: true },
    cursor: sparkline ? { show: false } : { drag: { x: false, y: false }, points: { size: 6 } },
    padding: sparkline ? [2, 0, 2, 0] : [8, 20, 0, 0],
  };
}
