import type { Vm, VmMetrics } from '@twarga/contract';
import { useState, type ReactNode } from 'react';
import { Section } from '../../components/Section';
import { formatBytes, formatPercent, formatRate } from '../../charts/units';
import { ChartCard, DISK_PLOTS, NET_PLOTS, type Plot } from '../monitor/ChartCard';
import { RANGE_SECONDS, useHistory, useVmMetrics, type Range } from '../monitor/queries';
import { RangePicker } from '../monitor/RangePicker';

export const VM_CHART_METRICS = [
  'cpu_percent', 'guest_memory_used_bytes', 'guest_memory_total_bytes', 'memory_rss_bytes', 'fs_used_bytes', 'fs_total_bytes',
  'disk_read_bps', 'disk_write_bps', 'net_rx_bps', 'net_tx_bps',
] as const;

const CPU: Plot[] = [{ metric: 'cpu_percent', label: 'CPU (% of its vCPUs)' }];
// Two different things, never one line: what the guest says it uses (balloon statistics) and
// what the QEMU process holds on the host (RSS, which includes the guest's caches and QEMU itself).
const MEMORY: Plot[] = [
  { metric: 'guest_memory_used_bytes', label: 'Guest used (balloon, inside the VM)', color: 0 },
  { metric: 'guest_memory_total_bytes', label: 'Guest total', color: 0, dashed: true },
  { metric: 'memory_rss_bytes', label: 'Host RSS (QEMU process)', color: 2 },
];
const FS: Plot[] = [
  { metric: 'fs_used_bytes', label: 'Used (guest agent)', color: 1 },
  { metric: 'fs_total_bytes', label: 'Size', color: 1, dashed: true },
];

const SOURCE: Record<string, string> = { hypervisor: 'hypervisor', 'guest-agent': 'guest agent', host: 'host' };
const from = (s: { source: string | null }) => (s.source ? `from the ${SOURCE[s.source] ?? s.source}` : 'not measured');

function Fact({ term, children, hint }: { term: string; children: ReactNode; hint?: string }) {
  return (
    <div className="rounded-lg bg-slate-50 px-4 py-3 dark:bg-slate-800/60">
      <dt className="text-xs font-medium uppercase tracking-wide text-slate-600 dark:text-slate-400">{term}</dt>
      <dd className="mt-1 text-sm font-semibold text-slate-900 [overflow-wrap:anywhere] dark:text-white">{children}</dd>
      {hint && <dd className="mt-0.5 text-xs text-slate-600 dark:text-slate-400">{hint}</dd>}
    </div>
  );
}

const HEALTH: Record<string, string> = { booting: 'Booting', responsive: 'Responsive', unresponsive: 'Unresponsive' };

function agentText(m: VmMetrics | undefined): string {
  if (!m || m.sampled_at === null) return '—';
  if (m.guest_agent === null) return 'No agent channel';
  return m.guest_agent ? 'Answering' : 'Not answering';
}

/** What the VM measures right now: health, agent, IP, CPU, memory, disk. */
function CurrentValues({ vm, m }: { vm: Vm; m: VmMetrics | undefined }) {
  const used = m?.guest_memory_used_bytes;
  const total = m?.guest_memory_total_bytes.value;
  const fsUsed = m?.fs_used_bytes.value;
  const fsTotal = m?.fs_total_bytes.value;
  return (
    <dl className="grid grid-cols-2 gap-3 md:grid-cols-4" data-testid="vm-metrics-now">
      <Fact term="Health" hint={vm.health === 'unresponsive' ? 'the guest does not answer' : undefined}>{vm.health ? HEALTH[vm.health] : vm.status === 'running' ? '—' : 'Not running'}</Fact>
      <Fact term="Guest agent">{agentText(m)}</Fact>
      <Fact term="IP address" hint={m?.ip.value ? from(m.ip) : undefined}>
        <span className="font-mono">{m?.ip.value ?? vm.ip_address ?? '—'}</span>
      </Fact>
      <Fact term="CPU" hint={m ? from(m.cpu_percent) : undefined}>{formatPercent(m?.cpu_percent.value)}</Fact>
      <Fact term="Guest memory used" hint={used ? from(used) : undefined}>
        {formatBytes(used?.value)}
        {total ? ` of ${formatBytes(total)}` : ''}
      </Fact>
      <Fact term="Host RSS" hint={m ? from(m.memory_rss_bytes) : undefined}>{formatBytes(m?.memory_rss_bytes.value)}</Fact>
      <Fact term="Filesystem" hint={m ? from(m.fs_used_bytes) : undefined}>
        {formatBytes(fsUsed)}
        {fsTotal ? ` of ${formatBytes(fsTotal)}` : ''}
      </Fact>
      <Fact term="Disk I/O" hint="read / write">
        {formatRate(m?.disk_read_bytes_per_sec.value)} / {formatRate(m?.disk_write_bytes_per_sec.value)}
      </Fact>
    </dl>
  );
}

/** The VM page's metrics: current values and charts over a chosen range, live on the last hour. */
export function VmMetricsSection({ vm }: { vm: Vm }) {
  const [range, setRange] = useState<Range>('1h');
  const latest = useVmMetrics(vm.id);
  const history = useHistory('vm', vm.id, range, VM_CHART_METRICS);
  const h = history.data;
  return (
    <Section
      title="Metrics"
      description={
        vm.status === 'running'
          ? `Measured every few seconds by the hypervisor, the host and the QEMU guest agent${range === '1h' ? '; the last hour updates live' : ''}. A gap means nothing could be measured then.`
          : 'Metrics are measured while the VM runs; its history stays here.'
      }
    >
      <CurrentValues vm={vm} m={latest.data} />
      <div className="mb-3 mt-6 flex flex-wrap items-center justify-between gap-3">
        <RangePicker value={range} onChange={setRange} />
        <p className="text-xs text-slate-600 dark:text-slate-400" aria-live="polite">
          {history.isError ? 'Could not load the history.' : h ? `${h.resolution === 'raw' ? 'Raw samples' : h.resolution === '1m' ? '1-minute averages' : 'Hourly averages'}, one point per ${h.step} s` : 'Loading…'}
        </p>
      </div>
      <div className="grid gap-4 lg:grid-cols-2" data-testid="vm-charts">
        <ChartCard title="CPU" history={h} plots={CPU} unit="percent" testId="chart-vm-cpu" spanSeconds={RANGE_SECONDS[range]} />
        <ChartCard title="Memory" subtitle="Guest used comes from the balloon driver; host RSS is the QEMU process. They differ by design." history={h} plots={MEMORY} unit="bytes" testId="chart-vm-memory" spanSeconds={RANGE_SECONDS[range]} />
        <ChartCard title="Filesystem" subtitle="The guest's root filesystem, from the guest agent." history={h} plots={FS} unit="bytes" testId="chart-vm-fs" spanSeconds={RANGE_SECONDS[range]} />
        <ChartCard title="Disk I/O" history={h} plots={DISK_PLOTS} unit="rate" testId="chart-vm-disk" spanSeconds={RANGE_SECONDS[range]} />
        <ChartCard title="Network" history={h} plots={NET_PLOTS} unit="rate" testId="chart-vm-net" spanSeconds={RANGE_SECONDS[range]} />
      </div>
    </Section>
  );
}
