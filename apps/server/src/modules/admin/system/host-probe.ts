import type { HealthComponent } from '@twarga/contract';
import type { ComputeRegistry } from '../../../compute/registry.js';
import type { ComputeDriver } from '../../../compute/driver.js';
import { run } from '../../../infra/process.js';
import type { HostRow, HostUsage } from '../../hosts/hosts.repository.js';
import { withTimeout } from './status.js';

type RunCommand = (command: string, args: readonly string[], options: { timeoutMs: number }) => Promise<{ stdout: string; stderr: string }>;

export interface ProbeOptions {
  /** A host that has not answered within this is reported unreachable (the probe goes on in the background). */
  timeoutMs: number;
  /** How long a looked-up driver version is reused. */
  versionTtlMs?: number;
  run?: RunCommand;
}

interface Probe {
  reachable: boolean;
  error?: string;
  ms: number;
}

/**
 * Whether each compute host answers its driver now (driver.list(): `virsh list` on a libvirt
 * host, the VM directory for QEMU), and which hypervisor version it runs. Each probe is bounded
 * by timeoutMs; a host that hangs is reported unreachable while its probe keeps going, and the
 * next health check joins that probe instead of starting another (no pile of stuck virsh).
 */
export class HostProber {
  private readonly inFlight = new Map<number, Promise<Probe>>();
  private readonly versions = new Map<string, { at: number; version: string | null; missing?: string }>();
  private readonly run: RunCommand;

  constructor(
    private readonly drivers: ComputeRegistry,
    private readonly o: ProbeOptions,
  ) {
    this.run = o.run ?? run;
  }

  async component(host: HostRow, usage: HostUsage | undefined): Promise<HealthComponent> {
    const used = usage ?? { vms: 0, ram_mb: 0, vcpus: 0 };
    const base = { name: `host:${host.name}`, kind: 'host' as const };
    const capacity = { ram_mb: host.ram_mb, vcpus: host.vcpus };
    const allocated = { vms: used.vms, ram_mb: used.ram_mb, vcpus: used.vcpus };
    const facts: Record<string, unknown> = { host_id: host.id, driver: host.driver, uri: host.uri, enabled: host.enabled === 1, draining: host.draining === 1, capacity, allocated };
    if (!this.drivers.supports(host.driver)) {
      return { ...base, status: 'failed', detail: `the ${host.driver} driver is not available on this server`, facts: { ...facts, reachable: false } };
    }
    let driver: ComputeDriver;
    try {
      driver = this.drivers.forHost(host);
    } catch (err) {
      return { ...base, status: 'failed', detail: `no driver: ${err instanceof Error ? err.message : String(err)}`, facts: { ...facts, reachable: false } };
    }
    const [probe, { version, missing }] = await Promise.all([this.probe(host.id, driver), this.version(driver)]);
    const info = driver.info();
    Object.assign(facts, { reachable: probe.reachable, probe_ms: probe.ms, driver_name: info.name, version, probe_error: probe.error ?? null });
    // QEMU and Vagrant list a local directory (always "reachable"): their program missing is what breaks them.
    if (missing && host.enabled === 1) return { ...base, status: 'failed', detail: `${info.name}: ${missing} is not installed on this server`, facts };
    const reach = probe.reachable ? `reachable (${probe.ms} ms)` : `unreachable: ${probe.error}`;
    const load = `${used.vms} VM(s), ${used.ram_mb}/${host.ram_mb} MB RAM, ${used.vcpus}/${host.vcpus} vCPUs allocated`;
    if (host.enabled !== 1) return { ...base, status: 'degraded', detail: `disabled (takes no VMs); ${reach}; ${load}`, facts };
    if (!probe.reachable) return { ...base, status: 'failed', detail: `${info.name} driver ${reach}`, facts };
    if (used.ram_mb > host.ram_mb || used.vcpus > host.vcpus) return { ...base, status: 'degraded', detail: `over capacity: ${load}`, facts };
    return { ...base, status: 'healthy', detail: `${info.name}${version ? ` ${version}` : ''} ${reach}${host.draining === 1 ? ', draining (takes no new VMs)' : ''}; ${load}`, facts };
  }

  private probe(hostId: number, driver: ComputeDriver): Promise<Probe> {
    let pending = this.inFlight.get(hostId);
    if (!pending) {
      const started = Date.now();
      pending = driver.list().then(
        () => ({ reachable: true, ms: Date.now() - started }),
        (err: unknown) => ({ reachable: false, error: (err instanceof Error ? err.message : String(err)).slice(0, 300), ms: Date.now() - started }),
      );
      const settled = pending.finally(() => this.inFlight.delete(hostId));
      this.inFlight.set(hostId, settled);
      pending = settled;
    }
    const timeoutMs = this.o.timeoutMs;
    return withTimeout(pending, timeoutMs, () => ({ reachable: false, error: `no answer within ${timeoutMs} ms`, ms: timeoutMs }));
  }

  /**
   * The hypervisor's version (qemu --version, virsh version, vagrant --version); null when
   * unknown (a timeout or an error says nothing about the host), `missing` when the program
   * does not exist here.
   */
  private async version(driver: ComputeDriver): Promise<{ version: string | null; missing?: string }> {
    const info = driver.info();
    const d = info.details as { binary?: unknown; uri?: unknown };
    let lookup: { key: string; command: string; args: string[]; parse: (out: string) => string | null } | undefined;
    if (info.name === 'qemu' && typeof d.binary === 'string') {
      lookup = { key: `qemu ${d.binary}`, command: d.binary, args: ['--version'], parse: (o) => o.match(/version\s+([0-9][^\s(]*)/i)?.[1] ?? null };
    } else if (info.name === 'libvirt' && typeof d.uri === 'string') {
      lookup = { key: `libvirt ${d.uri}`, command: 'virsh', args: ['-c', d.uri, 'version'], parse: parseVirshVersion };
    } else if (info.name === 'vagrant') {
      lookup = { key: 'vagrant', command: 'vagrant', args: ['--version'], parse: (o) => o.match(/Vagrant\s+(\S+)/)?.[1] ?? null };
    }
    if (!lookup) return { version: null };
    const cached = this.versions.get(lookup.key);
    if (cached && Date.now() - cached.at < (cached.version ? (this.o.versionTtlMs ?? 600_000) : 60_000)) return cached;
    const timeoutMs = Math.max(100, this.o.timeoutMs - 200);
    const command = lookup.command;
    const found = await this.run(command, lookup.args, { timeoutMs }).then(
      (r) => ({ version: lookup.parse(r.stdout) }),
      (err: unknown) => ({ version: null, ...(/\bENOENT\b/.test(err instanceof Error ? err.message : String(err)) ? { missing: command } : {}) }),
    );
    this.versions.set(lookup.key, { at: Date.now(), ...found });
    return found;
  }
}

/** `virsh version`: "Running against daemon: 10.0.0" and "Running hypervisor: QEMU 8.2.2". */
export function parseVirshVersion(out: string): string | null {
  const daemon = out.match(/Running against daemon:\s*(\S+)/)?.[1];
  const hypervisor = out.match(/Running hypervisor:\s*(.+)/)?.[1]?.trim();
  const parts = [daemon && `libvirt ${daemon}`, hypervisor].filter(Boolean);
  return parts.length ? parts.join(', ') : null;
}
