import { HostMetricNames, MetricRanges, VmMetricNames, type HostMetrics, type MetricsHistory, type VmMetrics } from '@twarga/contract';
import type { Command } from 'commander';
import { resolveVm, type CommandContext } from '../client.js';
import { CliError, EXIT } from '../exit-codes.js';
import { cell, formatBytes, formatDuration, renderFields, renderTable } from '../output.js';
import type { Registrar } from '../program.js';

const pct = (v: number | null | undefined) => (v === null || v === undefined ? null : `${v.toFixed(1)}%`);
const rate = (v: number | null | undefined) => (v === null || v === undefined ? null : `${formatBytes(v)}/s`);

export function hostFields(m: HostMetrics): [string, unknown][] {
  return [
    ['sampled', m.sampled_at],
    ['cpu', `${pct(m.cpu.usage_percent) ?? '-'} of ${m.cpu.count} cores`],
    ['load', `${m.load.load1} ${m.load.load5} ${m.load.load15}`],
    ['memory', `${pct(m.memory.usage_percent)} (${Math.round(m.memory.used_mb)} / ${Math.round(m.memory.total_mb)} MiB)`],
    ['swap', `${pct(m.swap.usage_percent) ?? '-'} (${Math.round(m.swap.used_mb)} / ${Math.round(m.swap.total_mb)} MiB)`],
    ['disk', `${pct(m.disk.usage_percent)} of ${m.disk.path} (${m.disk.used_gb.toFixed(1)} / ${m.disk.total_gb.toFixed(1)} GiB)`],
    ['disk io', `read ${cell(rate(m.disk.read_bytes_per_sec))}, write ${cell(rate(m.disk.write_bytes_per_sec))}`],
    ['network', `rx ${cell(rate(m.network.rx_bytes_per_sec))}, tx ${cell(rate(m.network.tx_bytes_per_sec))}`],
    ['uptime', formatDuration(m.uptime_seconds)],
  ];
}

export function vmMetricFields(m: VmMetrics): [string, unknown][] {
  const src = (s: { source: string | null }) => (s.source ? ` [${s.source}]` : '');
  return [
    ['sampled', m.sampled_at ?? 'no sample yet (not running, or not collected yet)'],
    ['cpu', pct(m.cpu_percent.value) && pct(m.cpu_percent.value)! + src(m.cpu_percent)],
    ['memory (host rss)', m.memory_rss_bytes.value === null ? null : formatBytes(m.memory_rss_bytes.value)],
    ['memory (guest)', m.guest_memory_used_bytes.value === null ? null : `${formatBytes(m.guest_memory_used_bytes.value)} / ${formatBytes(m.guest_memory_total_bytes.value)}`],
    ['filesystem', m.fs_used_bytes.value === null ? null : `${formatBytes(m.fs_used_bytes.value)} / ${formatBytes(m.fs_total_bytes.value)}`],
    ['disk io', `read ${cell(rate(m.disk_read_bytes_per_sec.value))}, write ${cell(rate(m.disk_write_bytes_per_sec.value))}`],
    ['network', `rx ${cell(rate(m.net_rx_bytes_per_sec.value))}, tx ${cell(rate(m.net_tx_bytes_per_sec.value))}`],
    ['ip', m.ip.value],
    ['guest agent', m.guest_agent === null ? null : m.guest_agent ? 'answers' : 'silent'],
  ];
}

/** One row per metric: the newest point and the range's min / average / max. */
export function historySummary(h: MetricsHistory): string {
  const rows = h.series.map((s) => {
    const avgs = s.points.map((p) => p.avg).filter((v): v is number => v !== null);
    const mins = s.points.map((p) => p.min).filter((v): v is number => v !== null);
    const maxs = s.points.map((p) => p.max).filter((v): v is number => v !== null);
    const fmt = (v: number | undefined) => (v === undefined ? null : Number.isInteger(v) ? v : Number(v.toFixed(2)));
    return {
      metric: s.metric,
      points: s.points.length,
      last: fmt(avgs[avgs.length - 1]),
      min: fmt(mins.length ? Math.min(...mins) : undefined),
      avg: fmt(avgs.length ? avgs.reduce((a, b) => a + b, 0) / avgs.length : undefined),
      max: fmt(maxs.length ? Math.max(...maxs) : undefined),
    };
  });
  const head = `${h.entity}${h.vm_id ? ` ${h.vm_id}` : ''} from ${h.from} to ${h.to}, step ${h.step} s (${h.resolution})`;
  return `${head}\n${renderTable(rows, [
    { header: 'metric', get: (r) => r.metric },
    { header: 'points', get: (r) => r.points },
    { header: 'last', get: (r) => r.last },
    { header: 'min', get: (r) => r.min },
    { header: 'avg', get: (r) => r.avg },
    { header: 'max', get: (r) => r.max },
  ])}`;
}

async function metrics(ctx: CommandContext, target: string, o: { history?: string; metric?: string }): Promise<void> {
  if (o.history && !(MetricRanges as readonly string[]).includes(o.history)) {
    throw new CliError(`--history takes one of ${MetricRanges.join(', ')}`, EXIT.usage, 'usage');
  }
  const client = ctx.client();
  const isHost = target === 'host';
  const names = o.metric ? o.metric.split(',') : isHost ? [...HostMetricNames] : [...VmMetricNames];
  if (isHost) {
    if (o.history) {
      const h = await client.metrics.hostHistory({ metric: names, range: o.history });
      return ctx.out.result(h, () => historySummary(h));
    }
    const m = await client.metrics.host();
    return ctx.out.result(m, () => renderFields(hostFields(m)));
  }
  const vm = await resolveVm(client, target);
  if (o.history) {
    const h = await client.metrics.vmHistory(vm.id, { metric: names, range: o.history });
    return ctx.out.result(h, () => historySummary(h));
  }
  const m = await client.metrics.vm(vm.id);
  ctx.out.result(m, () => renderFields(vmMetricFields(m)));
}

export function registerMetrics(program: Command, r: Registrar): void {
  program
    .command('metrics <vm|host>')
    .description('current metrics of a VM, or of the host (admins); --history for a range')
    .option('--history <range>', `summary over a range: ${MetricRanges.join('|')}`)
    .option('--metric <names>', 'with --history: only these metrics (comma-separated)')
    .action(r.action((ctx, target: string, o: { history?: string; metric?: string }) => metrics(ctx, target, o)));
}
