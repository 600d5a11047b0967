import type { MetricSource, VmMetrics } from '@twarga/contract';
import { hasGuestAgent, hasStats, type ComputeDriver, type GuestReport, type InstanceStats } from '../../compute/driver.js';
import { clampPercent, rate } from './proc-parsers.js';

/** What the VM sampler needs of a VM row. */
export interface SampledVm {
  id: number;
  user_id: number;
  /** vCPUs. */
  cpu: number;
  ip_address: string | null;
  booted_at: string | Date | null;
}

type Sourced = { value: number | null; source: MetricSource | null };
const none: Sourced = { value: null, source: null };
const from = (value: number | null | undefined, source: MetricSource): Sourced => (value === null || value === undefined ? none : { value, source });
const round = (v: number | null, digits = 2) => (v === null ? null : Math.round(v * 10 ** digits) / 10 ** digits);

/** An IPv4 address the guest uses to reach out (not loopback or link-local). */
function guestIp(report: GuestReport | undefined): string | null {
  for (const i of report?.interfaces ?? []) {
    if (i.name === 'lo') continue;
    const v4 = i.addresses.find((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a) && !a.startsWith('127.') && !a.startsWith('169.254.'));
    if (v4) return v4;
  }
  return null;
}

/** The root filesystem, or the largest one when / is not reported. */
function rootFs(report: GuestReport | undefined) {
  const fss = report?.filesystems ?? [];
  return fss.find((f) => f.mountpoint === '/') ?? [...fss].sort((a, b) => b.totalBytes - a.totalBytes)[0];
}

/**
 * Per-VM rates from the hypervisor's counters (two readings per VM), plus what the guest agent
 * reports. Each value carries its source; what nobody counts is null.
 */
export class VmSampler {
  private readonly prev = new Map<number, { at: number; stats: InstanceStats }>();

  /** Undefined when the driver has no stats or the instance is not running there. */
  async sample(vm: SampledVm, driver: ComputeDriver, instance: string, now: Date, keep = true): Promise<VmMetrics | undefined> {
    if (!hasStats(driver)) return undefined;
    const [stats, report] = await Promise.all([
      driver.stats(instance),
      hasGuestAgent(driver) ? driver.guestReport(instance).catch(() => undefined) : Promise.resolve(undefined),
    ]);
    if (!stats) {
      this.prev.delete(vm.id);
      return undefined;
    }
    const prev = this.prev.get(vm.id);
    const secs = prev ? (now.getTime() - prev.at) / 1000 : 0;
    if (keep) this.prev.set(vm.id, { at: now.getTime(), stats });
    // Host CPU time of the VM's process over the wall time its vCPUs had: 100 % = all vCPUs busy.
    const cpuRaw = rate(prev?.stats.cpuTimeNs, stats.cpuTimeNs, secs);
    const cpu = cpuRaw === null ? null : round(clampPercent((100 * cpuRaw) / 1e9 / Math.max(1, vm.cpu)));
    const netRx = stats.network ? rate(prev?.stats.network?.rxBytes, stats.network.rxBytes, secs) : null;
    const netTx = stats.network ? rate(prev?.stats.network?.txBytes, stats.network.txBytes, secs) : null;

    const agentOk = report?.agent === true;
    // Balloon statistics, as the guest reports them (never the host's RSS).
    const mem = report?.memory;
    const memUsed = mem ? mem.totalBytes - mem.availableBytes : null;
    const fs = agentOk ? rootFs(report) : undefined;
    const ip = agentOk ? guestIp(report) : null;
    const booted = vm.booted_at ? new Date(vm.booted_at).getTime() : null;
    return {
      vm_id: vm.id,
      sampled_at: now.toISOString(),
      cpu_usage: cpu,
      memory_usage: mem && mem.totalBytes > 0 ? round((100 * memUsed!) / mem.totalBytes) : null,
      disk_usage: fs && fs.totalBytes > 0 ? round((100 * fs.usedBytes) / fs.totalBytes) : null,
      uptime: booted === null ? null : Math.max(0, Math.round((now.getTime() - booted) / 1000)),
      ip_address: ip ?? vm.ip_address,
      cpu_percent: from(cpu, 'hypervisor'),
      memory_rss_bytes: from(stats.memoryRssBytes, 'host'),
      guest_memory_used_bytes: from(memUsed, 'guest-agent'),
      guest_memory_total_bytes: from(mem?.totalBytes, 'guest-agent'),
      fs_used_bytes: from(fs?.usedBytes, 'guest-agent'),
      fs_total_bytes: from(fs?.totalBytes, 'guest-agent'),
      disk_read_bytes_per_sec: from(round(rate(prev?.stats.disk.readBytes, stats.disk.readBytes, secs)), 'hypervisor'),
      disk_write_bytes_per_sec: from(round(rate(prev?.stats.disk.writeBytes, stats.disk.writeBytes, secs)), 'hypervisor'),
      // The drivers' counters carry bytes, not operations: IOPS would be invented.
      disk_read_iops: none,
      disk_write_iops: none,
      net_rx_bytes_per_sec: from(round(netRx), 'hypervisor'),
      net_tx_bytes_per_sec: from(round(netTx), 'hypervisor'),
      ip: ip ? { value: ip, source: 'guest-agent' } : vm.ip_address ? { value: vm.ip_address, source: 'host' } : { value: null, source: null },
      guest_agent: hasGuestAgent(driver) ? agentOk : null,
    };
  }

  /** The VM's hypervisor counters at its last sample (since its process started), for Prometheus. */
  counters(vmId: number): InstanceStats | undefined {
    return this.prev.get(vmId)?.stats;
  }

  forget(vmId: number): void {
    this.prev.delete(vmId);
  }

  /** VMs sampled before but not in this pass (stopped, destroyed) lose their baseline. */
  retain(ids: Set<number>): void {
    for (const id of this.prev.keys()) if (!ids.has(id)) this.prev.delete(id);
  }
}
