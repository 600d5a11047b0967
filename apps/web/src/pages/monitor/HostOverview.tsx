import { useState } from 'react';
import { Alert } from '../../components/Alert';
import { Section } from '../../components/Section';
import { Loading } from '../../components/Spinner';
import { errorMessage } from '../../api';
import { formatBytes, formatPercent, formatPlain, formatRate } from '../../charts/units';
import { formatDuration } from '../vms/format';
import { ChartCard, DISK_PLOTS, NET_PLOTS, type Plot } from './ChartCard';
import { RANGE_SECONDS, useHistory, useHostMetrics, type Range } from './queries';
import { RangePicker } from './RangePicker';
import { Meter, Stat } from './Stat';

export const HOST_CHART_METRICS = [
  'cpu_percent', 'load1', 'load5', 'load15', 'memory_used_bytes', 'memory_total_bytes', 'swap_used_bytes', 'swap_total_bytes',
  'fs_used_bytes', 'fs_total_bytes', 'disk_read_bps', 'disk_write_bps', 'net_rx_bps', 'net_tx_bps',
] as const;

const CPU: Plot[] = [{ metric: 'cpu_percent', label: 'CPU (all cores)' }];
const LOAD: Plot[] = [
  { metric: 'load1', label: '1 min', color: 0 },
  { metric: 'load5', label: '5 min', color: 4 },
  { metric: 'load15', label: '15 min', color: 5 },
];
const MEMORY: Plot[] = [
  { metric: 'memory_used_bytes', label: 'Used', color: 0 },
  { metric: 'memory_total_bytes', label: 'Total', color: 0, dashed: true },
];
const SWAP: Plot[] = [
  { metric: 'swap_used_bytes', label: 'Used', color: 2 },
  { metric: 'swap_total_bytes', label: 'Total', color: 2, dashed: true },
];
const FS: Plot[] = [
  { metric: 'fs_used_bytes', label: 'Used', color: 1 },
  { metric: 'fs_total_bytes', label: 'Size', color: 1, dashed: true },
];

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** The host this Twarga Cloud runs on (admins): current figures, per-core CPU and history charts. */
export function HostOverview() {
  const [range, setRange] = useState<Range>('1h');
  const now = useHostMetrics(true);
  const history = useHostHistory(range);
  const h = now.data;
  return (
    <Section title="Host" description="The machine the VMs run on: measured from /proc and statfs every few seconds. Only admins see it.">
      {now.isPending && <Loading label="Loading the host's metrics…" />}
      {now.isError && <Alert>Could not load the host's metrics: {errorMessage(now.error)}</Alert>}
      {h && (
        <>
          <dl className="grid grid-cols-2 gap-3 md:grid-cols-4" data-testid="host-now">
            <Stat term="CPU" hint={`${h.cpu.count} cores${h.cpu.frequency ? ` · ${(h.cpu.frequency / 1000).toFixed(2)} GHz` : ''}`}>
              {formatPercent(h.cpu.usage_percent)}
            </Stat>
            <Stat term="Load" hint="1 / 5 / 15 min">
              {formatPlain(h.load.load1)} / {formatPlain(h.load.load5)} / {formatPlain(h.load.load15)}
            </Stat>
            <Stat term="Memory" hint={`${formatBytes(h.memory.used_mb * MiB)} of ${formatBytes(h.memory.total_mb * MiB)}`}>
              {formatPercent(h.memory.usage_percent)}
            </Stat>
            <Stat term="Swap" hint={h.swap.total_mb ? `${formatBytes(h.swap.used_mb * MiB)} of ${formatBytes(h.swap.total_mb * MiB)}` : 'No swap'}>
              {formatPercent(h.swap.usage_percent)}
            </Stat>
            <Stat term="Data dir disk" hint={`${formatBytes(h.disk.used_gb * GiB)} of ${formatBytes(h.disk.total_gb * GiB)} · ${h.disk.path}`}>
              {formatPercent(h.disk.usage_percent)}
            </Stat>
            <Stat term="Disk I/O" hint="read / write">
              <span className="text-base">{formatRate(h.disk.read_bytes_per_sec)} / {formatRate(h.disk.write_bytes_per_sec)}</span>
            </Stat>
            <Stat term="Network" hint="in / out">
              <span className="text-base">{formatRate(h.network.rx_bytes_per_sec)} / {formatRate(h.network.tx_bytes_per_sec)}</span>
            </Stat>
            <Stat term="Uptime" hint={`sampled ${new Date(h.sampled_at).toLocaleTimeString()}`}>
              {formatDuration(h.uptime_seconds)}
            </Stat>
          </dl>
          <h3 className="mb-2 mt-5 text-sm font-medium text-slate-800 dark:text-slate-200">CPU per core</h3>
          <ul className="grid grid-cols-2 gap-x-6 gap-y-2 sm:grid-cols-4" data-testid="host-cores">
            {h.cpu.per_core_percent.map((p, i) => (
              <li key={i} className="text-xs text-slate-600 dark:text-slate-400">
                <div className="mb-1 flex justify-between tabular-nums">
                  <span>Core {i}</span>
                  <span className="font-medium text-slate-900 dark:text-white">{formatPercent(p)}</span>
                </div>
                <Meter percent={p} label={`Core ${i} usage`} />
              </li>
            ))}
          </ul>
        </>
      )}
      <div className="mb-3 mt-6 flex flex-wrap items-center justify-between gap-3">
        <RangePicker value={range} onChange={setRange} />
        {history.isError && <p className="text-xs text-red-700 dark:text-red-300">Could not load the history: {errorMessage(history.error)}</p>}
      </div>
      <div className="grid gap-4 lg:grid-cols-2">
        <ChartCard title="CPU" history={history.data} plots={CPU} unit="percent" testId="chart-host-cpu" spanSeconds={RANGE_SECONDS[range]} />
        <ChartCard title="Load average" history={history.data} plots={LOAD} unit="plain" spanSeconds={RANGE_SECONDS[range]} />
        <ChartCard title="Memory" history={history.data} plots={MEMORY} unit="bytes" spanSeconds={RANGE_SECONDS[range]} />
        <ChartCard title="Swap" history={history.data} plots={SWAP} unit="bytes" spanSeconds={RANGE_SECONDS[range]} />
        <ChartCard title="Data dir filesystem" history={history.data} plots={FS} unit="bytes" spanSeconds={RANGE_SECONDS[range]} />
        <ChartCard title="Disk I/O" history={history.data} plots={DISK_PLOTS} unit="rate" spanSeconds={RANGE_SECONDS[range]} />
        <ChartCard title="Network" history={history.data} plots={NET_PLOTS} unit="rate" spanSeconds={RANGE_SECONDS[range]} />
      </div>
    </Section>
  );
}

const useHostHistory = (range: Range) => useHistory('host', 0, range, HOST_CHART_METRICS);
