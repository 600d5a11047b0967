import { HostAlertMetrics, VmAlertMetrics, type AlertEntity, type AlertWindow, type HostMetrics, type VmMetrics } from '@twarga/contract';

/** The metrics a policy of this entity may watch. */
export const metricsFor = (entity: AlertEntity): readonly string[] => (entity === 'host' ? HostAlertMetrics : VmAlertMetrics);

export const isPercentMetric = (metric: string) => metric.endsWith('_percent');

const WINDOW_SECONDS: Record<AlertWindow, number> = { '5m': 300, '10m': 600, '30m': 1800, '1h': 3600 };
/** A policy window in seconds (the contract's schema admits only the four names). */
export const windowSeconds = (w: string): number => WINDOW_SECONDS[w as AlertWindow] ?? 300;
export const MAX_WINDOW_SECONDS = 3600;

/** Values a policy can watch, from one sample; null where the sample has none (never 0 for "unknown"). */
export type AlertValues = Record<string, number | null>;

const percentOf = (used: number | null | undefined, total: number | null | undefined): number | null =>
  used === null || used === undefined || total === null || total === undefined || total <= 0 ? null : (100 * used) / total;

export function hostAlertValues(s: HostMetrics): AlertValues {
  return {
    cpu_percent: s.cpu.usage_percent,
    memory_percent: s.memory.total_mb > 0 ? s.memory.usage_percent : null,
    // No swap configured: usage is null (not 0), so no swap policy can fire or resolve on it.
    swap_percent: s.swap.usage_percent,
    fs_percent: s.disk.total_gb > 0 ? s.disk.usage_percent : null,
    load1: s.load.load1,
    disk_read_bps: s.disk.read_bytes_per_sec,
    disk_write_bps: s.disk.write_bytes_per_sec,
    net_rx_bps: s.network.rx_bytes_per_sec,
    net_tx_bps: s.network.tx_bytes_per_sec,
  };
}

export function vmAlertValues(s: VmMetrics): AlertValues {
  return {
    cpu_percent: s.cpu_percent.value,
    // Guest memory from the balloon, as the guest reports it; never the host's RSS of the VM.
    memory_percent: percentOf(s.guest_memory_used_bytes.value, s.guest_memory_total_bytes.value),
    fs_percent: percentOf(s.fs_used_bytes.value, s.fs_total_bytes.value),
    disk_read_bps: s.disk_read_bytes_per_sec.value,
    disk_write_bps: s.disk_write_bytes_per_sec.value,
    net_rx_bps: s.net_rx_bytes_per_sec.value,
    net_tx_bps: s.net_tx_bytes_per_sec.value,
  };
}

const LABELS: Record<string, string> = {
  cpu_percent: 'CPU usage',
  memory_percent: 'memory usage',
  swap_percent: 'swap usage',
  fs_percent: 'filesystem usage',
  load1: 'load (1 min)',
  disk_read_bps: 'disk reads',
  disk_write_bps: 'disk writes',
  net_rx_bps: 'network received',
  net_tx_bps: 'network sent',
};

export const metricLabel = (metric: string) => LABELS[metric] ?? metric;

/** A value with its unit, for messages. */
export function formatValue(metric: string, v: number): string {
  if (isPercentMetric(metric)) return `${round(v, 1)} %`;
  if (metric.endsWith('_bps')) {
    const units = ['B/s', 'KiB/s', 'MiB/s', 'GiB/s'];
    let i = 0;
    while (Math.abs(v) >= 1024 && i < units.length - 1) (v /= 1024), i++;
    return `${round(v, 1)} ${units[i]}`;
  }
  return String(round(v, 2));
}

export const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;
