import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import { VmStatuses, type HostMetrics, type VmMetrics } from '@twarga/contract';
import type { InstanceStats } from '../../compute/driver.js';
import type { PassReport } from './collector.js';
import type { InventoryVm, PrometheusRepository } from './prometheus.repository.js';

/**
 * The Prometheus exposition of GET /metrics.
 *
 * Naming: node_exporter's and libvirt-exporter's conventions (base units: bytes, seconds, ratios
 * 0–1; `_total` for counters) under our own `twarga_` prefix. Host series are `twarga_host_*`, not
 * `node_*`: a node_exporter often runs on the same machine, and two jobs exporting the same
 * `node_*` names would collide in queries. Labels: `vm` (name), `vm_id`, `owner` (username),
 * `host` (compute host name).
 *
 * Values are read at scrape time (prom-client collect callbacks) from the collector's latest
 * samples and one inventory query; a scrape takes no sample itself. A value the collector could
 * not get (null) is an absent series, never 0. VMs have both the hypervisor's running totals
 * (`_total` counters, for rate()) and the last interval's rates as gauges (what the API shows);
 * they restart from 0 with the VM's process, which rate() handles as a counter reset.
 */

/** Process-wide metrics (CPU, memory, event loop, GC) are per process: registered once, shared by every app. */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

const MB = 1024 * 1024;
const GB = 1024 * MB;

/** What the exporter reads of the collector. */
export interface CollectorView {
  host(): HostMetrics | undefined;
  vm(id: number): VmMetrics | undefined;
  vmCounters(id: number): InstanceStats | undefined;
  onPass(listener: (p: PassReport) => void): void;
}

interface Snapshot {
  vms: InventoryVm[];
  localHost: string;
}

type Labels = Record<string, string | number>;
type Setter = (labels: Labels, value: number | null | undefined) => void;

export class PrometheusExporter {
  readonly registry = new Registry();
  private readonly requests: Counter<'method' | 'route' | 'status_code'>;
  private readonly durations: Histogram<'method' | 'route' | 'status_code'>;
  private pending?: Promise<Snapshot>;

  constructor(private readonly d: { collector: CollectorView; repo: PrometheusRepository }) {
    const registers = [this.registry];
    this.requests = new Counter({ name: 'twarga_http_requests_total', help: 'HTTP requests answered, by method, route pattern and status code', labelNames: ['method', 'route', 'status_code'], registers });
    this.durations = new Histogram({
      name: 'twarga_http_request_duration_seconds',
      help: 'Time to answer an HTTP request (long-lived streams count when they end)',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.collectorMetrics();
    this.hostMetrics();
    this.vmMetrics();
  }

  /** Called for every answered request; `route` is the pattern (bounded cardinality), never the raw URL. */
  observeRequest(method: string, route: string | undefined, statusCode: number, seconds: number): void {
    const labels = { method, route: route ?? 'unmatched', status_code: String(statusCode) };
    this.requests.inc(labels);
    this.durations.observe(labels, seconds);
  }

  /** The text exposition: this app's series, then the process's default ones. */
  async render(): Promise<string> {
    return (await this.registry.metrics()) + (await processMetrics().metrics());
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** One inventory query per scrape, shared by every collect callback of that scrape. */
  private snapshot(): Promise<Snapshot> {
    this.pending ??= (async () => {
      const [vms, localHost] = await Promise.all([this.d.repo.liveVms(), this.d.repo.localHostName()]);
      return { vms, localHost: localHost ?? 'local' };
    })().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private collectorMetrics(): void {
    const registers = [this.registry];
    const duration = new Histogram({
      name: 'twarga_metrics_collector_pass_duration_seconds',
      help: 'Wall time of one metrics collection pass (host, every running VM, storage, rollups)',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    const passes = new Counter({ name: 'twarga_metrics_collector_passes_total', help: 'Collection passes, by result', labelNames: ['result'], registers });
    const last = new Gauge({ name: 'twarga_metrics_collector_last_pass_timestamp_seconds', help: 'When the last collection pass ended (Unix time)', registers });
    const vms = new Gauge({ name: 'twarga_metrics_collector_vms', help: 'VMs sampled by the last collection pass', registers });
    passes.inc({ result: 'ok' }, 0);
    passes.inc({ result: 'error' }, 0);
    this.d.collector.onPass((p) => {
      duration.observe(p.seconds);
      passes.inc({ result: p.ok ? 'ok' : 'error' });
      if (p.ok) {
        last.set(p.at.getTime() / 1000);
        vms.set(p.vms);
      }
    });
  }

  /** A counter set to the hypervisor's running total on every scrape; absent where nothing counts. */
  private total(name: string, help: string, labelNames: string[], fill: (set: Setter, s: Snapshot) => void): void {
    const counter: Counter = new Counter({
      name, help, labelNames, registers: [this.registry],
      collect: async () => {
        const s = await this.snapshot();
        counter.reset();
        fill((labels, v) => {
          if (v !== null && v !== undefined && Number.isFinite(v) && v >= 0) counter.inc(labels, v);
        }, s);
      },
    });
  }

  /** A gauge whose series are recomputed on every scrape by `fill`; null/undefined values are left out. */
  private gauge(name: string, help: string, labelNames: string[], fill: (set: Setter, s: Snapshot) => void): void {
    const gauge: Gauge = new Gauge({
      name, help, labelNames, registers: [this.registry],
      collect: async () => {
        const s = await this.snapshot();
        gauge.reset();
        fill((labels, v) => {
          if (v !== null && v !== undefined && Number.isFinite(v)) gauge.set(labels, v);
        }, s);
      },
    });
  }

  private hostMetrics(): void {
    const host = () => this.d.collector.host();
    const g = (name: string, help: string, value: (h: HostMetrics) => number | null | undefined) =>
      this.gauge(name, help, ['host'], (set, s) => {
        const h = host();
        if (h) set({ host: s.localHost }, value(h));
      });
    g('twarga_host_cpu_usage_ratio', 'Host CPU busy time over the last collection interval, all cores (0–1)', (h) => ratio(h.cpu.usage_percent));
    g('twarga_host_cpus', 'Host logical CPUs', (h) => h.cpu.count);
    g('twarga_host_cpu_frequency_hertz', 'Host CPU frequency (average of the cores)', (h) => (h.cpu.frequency === null ? null : h.cpu.frequency * 1e6));
    g('twarga_host_load1', 'Host 1-minute load average', (h) => h.load.load1);
    g('twarga_host_load5', 'Host 5-minute load average', (h) => h.load.load5);
    g('twarga_host_load15', 'Host 15-minute load average', (h) => h.load.load15);
    g('twarga_host_memory_total_bytes', 'Host memory (MemTotal)', (h) => bytes(h.memory.total_mb, MB));
    g('twarga_host_memory_used_bytes', 'Host memory in use (MemTotal − MemAvailable)', (h) => bytes(h.memory.used_mb, MB));
    g('twarga_host_memory_available_bytes', 'Host memory available (MemAvailable)', (h) => bytes(h.memory.available_mb, MB));
    g('twarga_host_swap_total_bytes', 'Host swap size', (h) => bytes(h.swap.total_mb, MB));
    g('twarga_host_swap_used_bytes', 'Host swap in use', (h) => bytes(h.swap.used_mb, MB));
    g('twarga_host_disk_read_bytes_per_second', 'Host block devices: bytes read per second over the last interval', (h) => h.disk.read_bytes_per_sec);
    g('twarga_host_disk_written_bytes_per_second', 'Host block devices: bytes written per second over the last interval', (h) => h.disk.write_bytes_per_sec);
    g('twarga_host_disk_reads_per_second', 'Host block devices: read operations per second', (h) => h.disk.read_iops);
    g('twarga_host_disk_writes_per_second', 'Host block devices: write operations per second', (h) => h.disk.write_iops);
    g('twarga_host_uptime_seconds', 'Host uptime', (h) => h.uptime_seconds);
    this.gauge('twarga_host_cpu_core_usage_ratio', 'Host CPU busy time per core over the last interval (0–1)', ['host', 'cpu'], (set, s) => {
      host()?.cpu.per_core_percent.forEach((p, i) => set({ host: s.localHost, cpu: String(i) }, ratio(p)));
    });
    for (const [name, help, key] of [
      ['twarga_host_filesystem_size_bytes', "Size of the data dir's filesystem", 'total_gb'],
      ['twarga_host_filesystem_used_bytes', "Used space of the data dir's filesystem", 'used_gb'],
    ] as const) {
      this.gauge(name, help, ['host', 'mountpoint'], (set, s) => {
        const h = host();
        if (h) set({ host: s.localHost, mountpoint: h.disk.path }, bytes(h.disk[key], GB));
      });
    }
    // Interface byte counters are real counters (since boot): exposed as counters, rate() them.
    for (const [name, help, key] of [
      ['twarga_host_network_receive_bytes_total', 'Host network bytes received, per interface', 'rx_bytes'],
      ['twarga_host_network_transmit_bytes_total', 'Host network bytes sent, per interface', 'tx_bytes'],
    ] as const) {
      const counter: Counter<'host' | 'device'> = new Counter({
        name, help, labelNames: ['host', 'device'], registers: [this.registry],
        collect: async () => {
          const s = await this.snapshot();
          counter.reset();
          for (const i of host()?.network.interfaces ?? []) counter.inc({ host: s.localHost, device: i.name }, i[key]);
        },
      });
    }
  }

  private vmMetrics(): void {
    const registers = [this.registry];
    const vmStatuses = new Gauge({
      name: 'twarga_vms', help: 'Live VMs (not destroyed) by status', labelNames: ['status'], registers,
      collect: async () => {
        const s = await this.snapshot();
        vmStatuses.reset();
        for (const st of LIVE_STATUSES) vmStatuses.set({ status: st }, 0);
        for (const vm of s.vms) vmStatuses.inc({ status: vm.status });
      },
    });
    const labels = ['vm', 'vm_id', 'owner', 'host'];
    const g = (name: string, help: string, value: (m: VmMetrics, vm: InventoryVm) => number | null | undefined) =>
      this.gauge(name, help, labels, (set, s) => {
        for (const vm of s.vms) {
          const m = this.d.collector.vm(vm.id);
          if (m) set({ vm: vm.name, vm_id: String(vm.id), owner: vm.owner ?? '', host: vm.host ?? '' }, value(m, vm));
        }
      });
    g('twarga_vm_vcpus', 'vCPUs of a running VM', (_m, vm) => vm.cpu);
    g('twarga_vm_cpu_usage_ratio', "Host CPU time of the VM's process over the last interval, per vCPU (0–1 = all vCPUs busy)", (m) => ratio(m.cpu_percent.value));
    g('twarga_vm_memory_rss_bytes', "Resident memory of the VM's process on the host (not the guest's view)", (m) => m.memory_rss_bytes.value);
    g('twarga_vm_guest_memory_used_bytes', 'Memory the guest uses, from its balloon statistics (absent without them)', (m) => m.guest_memory_used_bytes.value);
    g('twarga_vm_guest_memory_total_bytes', 'Memory the guest sees, from its balloon statistics (absent without them)', (m) => m.guest_memory_total_bytes.value);
    g('twarga_vm_filesystem_size_bytes', "Size of the guest's root filesystem, from the guest agent", (m) => m.fs_total_bytes.value);
    g('twarga_vm_filesystem_used_bytes', "Used space of the guest's root filesystem, from the guest agent", (m) => m.fs_used_bytes.value);
    g('twarga_vm_disk_read_bytes_per_second', 'VM disk bytes read per second over the last interval (hypervisor)', (m) => m.disk_read_bytes_per_sec.value);
    g('twarga_vm_disk_written_bytes_per_second', 'VM disk bytes written per second over the last interval (hypervisor)', (m) => m.disk_write_bytes_per_sec.value);
    g('twarga_vm_network_receive_bytes_per_second', 'VM network bytes received per second (where the hypervisor counts it)', (m) => m.net_rx_bytes_per_sec.value);
    g('twarga_vm_network_transmit_bytes_per_second', 'VM network bytes sent per second (where the hypervisor counts it)', (m) => m.net_tx_bytes_per_sec.value);
    g('twarga_vm_guest_agent_up', 'The guest agent answered the last pass (1) or not (0); absent when the driver has no agent channel', (m) => (m.guest_agent === null ? null : m.guest_agent ? 1 : 0));
    g('twarga_vm_uptime_seconds', 'Seconds since the VM booted', (m) => m.uptime);
    const t = (name: string, help: string, value: (c: InstanceStats) => number | undefined) =>
      this.total(name, help, labels, (set, s) => {
        for (const vm of s.vms) {
          const c = this.d.collector.vmCounters(vm.id);
          if (c) set({ vm: vm.name, vm_id: String(vm.id), owner: vm.owner ?? '', host: vm.host ?? '' }, value(c));
        }
      });
    t('twarga_vm_cpu_seconds_total', "Host CPU time of the VM's process since it started (hypervisor)", (c) => c.cpuTimeNs / 1e9);
    t('twarga_vm_disk_read_bytes_total', 'Bytes the VM read from its disks since it started (hypervisor)', (c) => c.disk.readBytes);
    t('twarga_vm_disk_written_bytes_total', 'Bytes the VM wrote to its disks since it started (hypervisor)', (c) => c.disk.writeBytes);
    t('twarga_vm_network_receive_bytes_total', 'Bytes the VM received since it started (where the hypervisor counts it)', (c) => c.network?.rxBytes);
    t('twarga_vm_network_transmit_bytes_total', 'Bytes the VM sent since it started (where the hypervisor counts it)', (c) => c.network?.txBytes);
  }
}

/** Every status but 'destroyed': always exported, 0 included, so a count that drops to 0 is seen. */
const LIVE_STATUSES = VmStatuses.filter((s) => s !== 'destroyed');

/** The API's samples carry MB/GB (rounded): back to whole bytes. */
const bytes = (v: number, unit: number) => Math.round(v * unit);

const ratio = (percent: number | null | undefined) => (percent === null || percent === undefined ? null : percent / 100);

/** Counts every answered request by its route pattern. Added at the root, so it sees every route. */
export function registerHttpMetrics(app: FastifyInstance, exporter: PrometheusExporter): void {
  app.addHook('onResponse', (request, reply, done) => {
    exporter.observeRequest(request.method, request.routeOptions.url, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
}
