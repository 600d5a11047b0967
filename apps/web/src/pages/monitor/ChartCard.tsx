import type { MetricsHistory } from '@twarga/contract';
import type { ReactNode } from 'react';
import { useMemo } from 'react';
import { alignHistory } from '../../charts/align';
import type { ChartSeries } from '../../charts/options';
import { UPlotChart } from '../../charts/UPlotChart';
import type { Unit } from '../../charts/units';

export interface Plot {
  metric: string;
  label: string;
  color?: number;
  dashed?: boolean;
}

/** Disk and network charts read the same way for the host and a VM. */
export const DISK_PLOTS: Plot[] = [
  { metric: 'disk_read_bps', label: 'Read', color: 4 },
  { metric: 'disk_write_bps', label: 'Write', color: 3 },
];
export const NET_PLOTS: Plot[] = [
  { metric: 'net_rx_bps', label: 'Received', color: 1 },
  { metric: 'net_tx_bps', label: 'Sent', color: 5 },
];

/**
 * One titled chart of some series of a history. `transform` turns stored values into shown ones
 * (bytes used into % of total…); the current value(s) are written out under the title.
 */
export function ChartCard({
  title,
  subtitle,
  history,
  plots,
  unit,
  transform,
  testId,
  height = 180,
  spanSeconds,
}: {
  title: string;
  subtitle?: ReactNode;
  history: MetricsHistory | undefined;
  plots: readonly Plot[];
  unit: Unit;
  transform?: (metric: string, value: number, t: number) => number | null;
  testId?: string;
  height?: number;
  spanSeconds?: number;
}) {
  const metrics = useMemo(() => plots.map((p) => p.metric), [plots]);
  const data = useMemo(() => alignHistory(history, metrics, transform), [history, metrics, transform]);
  const series: ChartSeries[] = useMemo(() => plots.map((p) => ({ label: p.label, color: p.color, dashed: p.dashed })), [plots]);
  return (
    <div className="min-w-0 rounded-lg border border-slate-200 p-3 dark:border-slate-800">
      <h3 className="text-sm font-semibold text-slate-900 dark:text-white">{title}</h3>
      {subtitle && <p className="text-xs text-slate-600 dark:text-slate-400">{subtitle}</p>}
      <div className="mt-2">
        <UPlotChart label={`${title} chart`} data={data} series={series} unit={unit} height={height} spanSeconds={spanSeconds} testId={testId} />
      </div>
    </div>
  );
}
