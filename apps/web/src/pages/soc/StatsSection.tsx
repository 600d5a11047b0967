import type { SocStatistics } from '@twarga/contract';
import { useMemo } from 'react';
import type uPlot from 'uplot';
import { errorMessage } from '../../api';
import { UPlotChart } from '../../charts/UPlotChart';
import type { ChartSeries } from '../../charts/options';
import { Alert } from '../../components/Alert';
import { Section } from '../../components/Section';
import { Loading } from '../../components/Spinner';
import { formatNumber } from '../../format';
import { Stat } from '../monitor/Stat';
import { useStatistics } from './queries';

/** Palette indexes (charts/chartTheme.ts): sky, amber, rose, as the severity badges. */
const HOUR_SERIES: ChartSeries[] = [
  { label: 'Info', color: 4 },
  { label: 'Warning', color: 2 },
  { label: 'Critical', color: 3 },
];

/** by_hour as uPlot's aligned data: hours in seconds, then one count array per severity. */
export function hourData(byHour: SocStatistics['by_hour']): uPlot.AlignedData {
  return [byHour.map((h) => Date.parse(h.hour) / 1000), byHour.map((h) => h.info), byHour.map((h) => h.warning), byHour.map((h) => h.critical)];
}

/** A labelled horizontal bar per entry, widest first: readable as text, the bar only helps. */
function Bars({ title, rows, onPick, testId }: { title: string; rows: { label: string; count: number; mono?: boolean }[]; onPick?: (label: string) => void; testId: string }) {
  const max = Math.max(1, ...rows.map((r) => r.count));
  return (
    <div className="min-w-0 rounded-lg border border-slate-200 p-3 dark:border-slate-800" data-testid={testId}>
      <h3 className="text-sm font-semibold text-slate-900 dark:text-white">{title}</h3>
      {rows.length === 0 ? (
        <p className="mt-2 text-xs text-slate-600 dark:text-slate-400">Nothing yet.</p>
      ) : (
        <ul className="mt-2 space-y-1.5">
          {rows.map((r) => (
            <li key={r.label} className="text-xs">
              <div className="flex justify-between gap-2">
                {onPick ? (
                  <button type="button" className={`truncate text-left text-indigo-700 hover:underline dark:text-indigo-300 ${r.mono ? 'font-mono' : ''}`} onClick={() => onPick(r.label)} title={`Show the events from ${r.label}`}>
                    {r.label}
                  </button>
                ) : (
                  <span className={`truncate text-slate-800 dark:text-slate-200 ${r.mono ? 'font-mono' : ''}`}>{r.label}</span>
                )}
                <span className="font-semibold tabular-nums text-slate-900 dark:text-white">{formatNumber(r.count)}</span>
              </div>
              <div className="mt-0.5 h-1.5 overflow-hidden rounded-full bg-slate-200 dark:bg-slate-700" aria-hidden="true">
                <div className="h-full rounded-full bg-indigo-500 dark:bg-indigo-400" style={{ width: `${(100 * r.count) / max}%` }} />
              </div>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** Counts by severity and type, events per hour over the last day, and the noisiest sources. */
export function StatsSection({ onSource, everyone }: { onSource: (address: string) => void; everyone: boolean }) {
  const stats = useStatistics();
  const s = stats.data;
  const data = useMemo(() => hourData(s?.by_hour ?? []), [s?.by_hour]);
  return (
    <Section title="Statistics" description={`${everyone ? 'Every tenant’s events' : 'Events about your account and VMs'}; the chart and the top sources cover the last 24 hours.`}>
      {stats.isPending && <Loading label="Loading the statistics…" />}
      {stats.isError && <Alert>Could not load the statistics: {errorMessage(stats.error)}</Alert>}
      {s && (
        <>
          <dl className="grid grid-cols-2 gap-3 md:grid-cols-3 lg:grid-cols-6" data-testid="soc-stats">
            <Stat term="Events" testId="stat-total">{formatNumber(s.total_events)}</Stat>
            <Stat term="Info" testId="stat-info">{formatNumber(s.info_count)}</Stat>
            <Stat term="Warning" testId="stat-warning">{formatNumber(s.warning_count)}</Stat>
            <Stat term="Critical" testId="stat-critical">{formatNumber(s.critical_count)}</Stat>
            <Stat term="Open incidents" testId="stat-incidents">{formatNumber(s.open_incidents)}</Stat>
            <Stat term="Active blocks" testId="stat-blocks">{formatNumber(s.active_blocks)}</Stat>
          </dl>
          <div className="mt-4 grid gap-4 lg:grid-cols-4">
            <div className="min-w-0 rounded-lg border border-slate-200 p-3 lg:col-span-2 dark:border-slate-800">
              <h3 className="text-sm font-semibold text-slate-900 dark:text-white">Events per hour</h3>
              <div className="mt-2">
                <UPlotChart label="Events per hour by severity, last 24 hours" data={data} series={HOUR_SERIES} unit="count" height={180} spanSeconds={86400} testId="chart-soc-hours" />
              </div>
            </div>
            <Bars title="By type" testId="soc-by-type" rows={Object.entries(s.by_type).map(([label, count]) => ({ label, count })).sort((a, b) => b.count - a.count)} />
            <Bars title="Top sources (warning and critical)" testId="soc-top-sources" rows={s.top_sources.map((t) => ({ label: t.source_ip, count: t.count, mono: true }))} onPick={onSource} />
          </div>
        </>
      )}
    </Section>
  );
}
