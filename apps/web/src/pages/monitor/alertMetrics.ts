import type { AlertCompare, AlertWindow, HostAlertMetric, VmAlertMetric } from '@twarga/contract';
import { formatUnit, type Unit } from '../../charts/units';

// The contract's lists, repeated here so the bundle does not pull in the TypeBox schemas next to
// them; alertMetrics.test.ts checks they stay equal.
export const VM_ALERT_METRICS = ['cpu_percent', 'memory_percent', 'fs_percent', 'disk_read_bps', 'disk_write_bps', 'net_rx_bps', 'net_tx_bps'] as const satisfies readonly VmAlertMetric[];
export const HOST_ALERT_METRICS = [
  'cpu_percent', 'memory_percent', 'swap_percent', 'fs_percent', 'load1', 'disk_read_bps', 'disk_write_bps', 'net_rx_bps', 'net_tx_bps',
] as const satisfies readonly HostAlertMetric[];
export const ALERT_COMPARES = ['GreaterThan', 'LessThan'] as const satisfies readonly AlertCompare[];
export const ALERT_WINDOWS = ['5m', '10m', '30m', '1h'] as const satisfies readonly AlertWindow[];

const INFO: Record<string, { label: string; unit: Unit }> = {
  cpu_percent: { label: 'CPU', unit: 'percent' },
  memory_percent: { label: 'Memory', unit: 'percent' },
  swap_percent: { label: 'Swap', unit: 'percent' },
  fs_percent: { label: 'Disk space', unit: 'percent' },
  load1: { label: 'Load (1 min)', unit: 'plain' },
  disk_read_bps: { label: 'Disk read', unit: 'rate' },
  disk_write_bps: { label: 'Disk write', unit: 'rate' },
  net_rx_bps: { label: 'Network in', unit: 'rate' },
  net_tx_bps: { label: 'Network out', unit: 'rate' },
  unresponsive: { label: 'Unresponsive', unit: 'plain' },
};

export const metricLabel = (m: string) => INFO[m]?.label ?? m;
export const metricUnit = (m: string): Unit => INFO[m]?.unit ?? 'plain';
/** The unit a policy's value is typed in. */
export const valueUnitText = (m: string) => ({ percent: '%', rate: 'bytes/s', bytes: 'bytes', plain: '', count: '' })[metricUnit(m)];
export const formatMetricValue = (m: string, v: number | null) => formatUnit[metricUnit(m)](v);
export const compareText = (c: string | null) => (c === 'GreaterThan' ? '>' : c === 'LessThan' ? '<' : '');

/** "CPU > 80 % for 5m". */
export function conditionText(p: { metric: string; compare: string | null; value: number | null; window?: string }): string {
  const parts = [metricLabel(p.metric)];
  if (p.compare && p.value !== null) parts.push(compareText(p.compare), formatMetricValue(p.metric, p.value));
  if (p.window) parts.push(`for ${p.window}`);
  return parts.join(' ');
}
