import type { HostMetricName, HostMetrics, VmMetricName, VmMetrics } from './metrics.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/**
 * A host sample as its history values: what the server stores and what the web appends to a live
 * chart, so both agree point for point.
 */
export function hostValues(s: HostMetrics): Record<HostMetricName, number | null> {
  return {
    cpu_percent: s.cpu.usage_percent,
    load1: s.load.load1, load5: s.load.load5, load15: s.load.load15,
    memory_used_bytes: s.memory.used_mb * MiB, memory_total_bytes: s.memory.total_mb * MiB,
    swap_used_bytes: s.swap.used_mb * MiB, swap_total_bytes: s.swap.total_mb * MiB,
    fs_used_bytes: s.disk.used_gb * GiB, fs_total_bytes: s.disk.total_gb * GiB,
    disk_read_bps: s.disk.read_bytes_per_sec, disk_write_bps: s.disk.write_bytes_per_sec,
    net_rx_bps: s.network.rx_bytes_per_sec, net_tx_bps: s.network.tx_bytes_per_sec,
  };
}

/** A VM sample as its history values; what nobody measured stays null. */
export function vmValues(s: VmMetrics): Record<VmMetricName, number | null> {
  return {
    cpu_percent: s.cpu_percent.value,
    memory_rss_bytes: s.memory_rss_bytes.value,
    guest_memory_used_bytes: s.guest_memory_used_bytes.value,
    guest_memory_total_bytes: s.guest_memory_total_bytes.value,
    fs_used_bytes: s.fs_used_bytes.value,
    fs_total_bytes: s.fs_total_bytes.value,
    disk_read_bps: s.disk_read_bytes_per_sec.value,
    disk_write_bps: s.disk_write_bytes_per_sec.value,
    net_rx_bps: s.net_rx_bytes_per_sec.value,
    net_tx_bps: s.net_tx_bytes_per_sec.value,
  };
}
