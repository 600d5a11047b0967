import type { AdminHealth, ComponentStatus, Health, HealthCheck, HealthComponent } from '@twarga/contract';
import type { FastifyBaseLogger } from 'fastify';
import type { DatabaseHandle } from '../../../db/database.js';
import type { ServerProcessRow } from '../../../cluster/server-processes.repository.js';
import type { Periodic } from '../../../lib/periodic.js';
import type { Clock } from '../../../lib/time.js';
import type { HostsRepository } from '../../hosts/hosts.repository.js';
import { diskSpaceCheck, type HealthService } from '../../health/health.service.js';
import type { HostProber } from './host-probe.js';
import { judgeJob } from './job-health.js';
import { withTimeout, worst } from './status.js';

/** What the system health needs of the syslog receiver (the SOC's ingest). */
export interface SyslogStatus {
  /** TWARGA_SYSLOG_LISTEN; empty: the generic receiver is off by configuration. */
  listen: string;
  /** The bound ports once the receiver listens. */
  listening(): { udpPort: number; tcpPort: number } | undefined;
  stats(): { totals: { received: number }; pending: number; channels: number[] };
}

/** The server processes on this database, as Presence records them. */
export interface ServerProcesses {
  list(): Promise<ServerProcessRow[]>;
  /** Unseen for longer than this, a process is gone (killed, or its machine is). */
  staleAfterMs: number;
  /** This process's id. */
  self: string;
}

export interface SystemHealthDeps {
  database: DatabaseHandle;
  /** GET /health's service: the same database read and committed-write probe. */
  health: HealthService;
  dataDir: string;
  minFreeDiskMb: number;
  version: string;
  hostsRepo: HostsRepository;
  prober: HostProber;
  jobs: () => Periodic[];
  processes: ServerProcesses;
  syslog: SyslogStatus;
  /** Instant VMs' warm snapshots (undefined when instant VMs are off). */
  instantVms: () => Promise<HealthComponent | undefined>;
  clock: Clock;
  log: FastifyBaseLogger;
  /** The database probe's budget; hosts have theirs in the prober. */
  timeoutMs: number;
}

const fromCheck = (s: HealthCheck['status']): ComponentStatus => (s === 'ok' ? 'healthy' : s);
const MiB = 1024 * 1024;

/**
 * The admin's system health: every component judged healthy, degraded (works; act soon) or
 * failed, and the overall status is the worst. Everything runs in parallel and each remote
 * probe has a deadline, so the answer comes within about timeoutMs even when a host hangs.
 */
export class SystemHealth {
  /**
   * Jobs that never ran are judged against this (about when the server started). Jobs are
   * judged on the wall clock: Periodic stamps its passes with it, not with the injected clock.
   */
  private readonly startedAt = new Date();

  constructor(private readonly d: SystemHealthDeps) {}

  async check(): Promise<AdminHealth> {
    const [database, disk, hosts, instant, processes] = await Promise.all([
      this.databaseComponent(), this.diskComponent(), this.hostComponents(), this.instantComponent(), this.processComponents(),
    ]);
    const now = this.d.clock.now();
    const components: HealthComponent[] = [
      database,
      disk,
      ...hosts,
      ...this.d.jobs().map((j) => judgeJob(j.status(), new Date(), this.startedAt)),
      ...(instant ? [instant] : []),
      this.syslogComponent(),
      this.serverComponent(),
      ...processes,
    ];
    return {
      status: worst(components.map((c) => c.status)),
      checked_at: now.toISOString(),
      version: this.d.version,
      uptime_seconds: Math.round(process.uptime()),
      components,
    };
  }

  private async databaseComponent(): Promise<HealthComponent> {
    const { database, timeoutMs } = this.d;
    const base = { name: 'database', kind: 'database' as const };
    type Outcome = { report?: Health; timedOut?: boolean };
    const { report, timedOut } = await withTimeout<Outcome>(this.d.health.check().then((r) => ({ report: r }), () => ({})), timeoutMs, () => ({ timedOut: true }));
    if (!report) {
      return { ...base, status: 'failed', detail: timedOut ? `${database.kind} did not answer within ${timeoutMs} ms` : `${database.kind} check failed (see the server log)`, facts: { kind: database.kind } };
    }
    const checks = report.checks.filter((c) => c.name === 'database_read' || c.name === 'database_write');
    return {
      ...base,
      status: worst(checks.map((c) => fromCheck(c.status))),
      detail: `${database.kind}: ${checks.map((c) => c.detail).join('; ')}`,
      facts: { kind: database.kind, checks },
    };
  }

  private async diskComponent(): Promise<HealthComponent> {
    const { check, freeMb } = await diskSpaceCheck(this.d.dataDir, this.d.minFreeDiskMb, this.d.log);
    return { name: 'data_dir', kind: 'disk', status: fromCheck(check.status), detail: check.detail, facts: { path: this.d.dataDir, free_mb: freeMb ?? null, min_free_mb: this.d.minFreeDiskMb } };
  }

  private async hostComponents(): Promise<HealthComponent[]> {
    try {
      const [hosts, usage] = await withTimeout(Promise.all([this.d.hostsRepo.list(), this.d.hostsRepo.usage()]), this.d.timeoutMs, () => undefined as never);
      return await Promise.all(hosts.map((h) => this.d.prober.component(h, usage.get(h.id))));
    } catch (err) {
      this.d.log.warn({ err }, 'system health: cannot list the compute hosts');
      return [{ name: 'hosts', kind: 'host', status: 'failed', detail: 'the compute hosts cannot be listed (the database does not answer)' }];
    }
  }

  /** Within the probe budget like the hosts: the warm pool reads checksums on its first call. */
  private async instantComponent(): Promise<HealthComponent | undefined> {
    const timedOut: HealthComponent = { name: 'instant_vms', kind: 'instant', status: 'degraded', detail: `the warm snapshots' state did not come within ${this.d.timeoutMs} ms` };
    return withTimeout(this.d.instantVms().catch(() => timedOut), this.d.timeoutMs, () => timedOut);
  }

  /**
   * The generic syslog receiver: off by configuration is healthy (QEMU guests send through their
   * own channels, counted in facts); configured but not listening is failed.
   */
  private syslogComponent(): HealthComponent {
    const { listen } = this.d.syslog;
    const stats = this.d.syslog.stats();
    const facts = { listen: listen || null, channels_connected: stats.channels.length, pending: stats.pending, totals: stats.totals };
    const base = { name: 'syslog_receiver', kind: 'syslog' as const, facts };
    if (!listen) return { ...base, status: 'healthy', detail: `off by configuration (TWARGA_SYSLOG_LISTEN is empty); ${stats.channels.length} VM channel(s) connected` };
    const ports = this.d.syslog.listening();
    if (!ports) return { ...base, status: 'failed', detail: `configured for ${listen} but not listening` };
    return { ...base, status: 'healthy', detail: `listening on ${listen} (UDP ${ports.udpPort}, TCP ${ports.tcpPort}); ${stats.totals.received ?? 0} line(s) received` };
  }

  /** Every server process on the database: seen lately (healthy) or gone without leaving (degraded). */
  private async processComponents(): Promise<HealthComponent[]> {
    const { processes } = this.d;
    const rows = await withTimeout(processes.list(), this.d.timeoutMs, () => [] as ServerProcessRow[]).catch(() => [] as ServerProcessRow[]);
    const now = Date.now();
    return rows.map((p) => {
      const unseenMs = now - Date.parse(p.last_seen_at);
      const gone = unseenMs > processes.staleAfterMs;
      const self = p.id === processes.self ? ' (this process)' : '';
      const role = p.leading === 1 ? "leads the cluster's jobs" : 'stands by';
      return {
        name: `process:${p.hostname}:${p.pid}`,
        kind: 'server' as const,
        status: gone ? ('degraded' as const) : ('healthy' as const),
        detail: gone
          ? `not seen for ${Math.round(unseenMs / 1000)} s: it stopped without leaving (killed, or its machine is down); another process took over its actions and jobs`
          : `Twarga Cloud ${p.version}, ${role}${self}`,
        facts: { id: p.id, hostname: p.hostname, pid: p.pid, version: p.version, started_at: p.started_at, last_seen_at: p.last_seen_at, leading: p.leading === 1, this_process: self !== '' },
      };
    });
  }

  private serverComponent(): HealthComponent {
    const memory = process.memoryUsage();
    const uptime = Math.round(process.uptime());
    return {
      name: 'server',
      kind: 'server',
      status: 'healthy',
      detail: `Twarga Cloud ${this.d.version} on Node.js ${process.version}, up ${uptime} s, ${Math.round(memory.rss / MiB)} MB resident`,
      facts: { version: this.d.version, node_version: process.version, pid: process.pid, uptime_seconds: uptime, rss_mb: Math.round(memory.rss / MiB), heap_used_mb: Math.round(memory.heapUsed / MiB), database_kind: this.d.database.kind },
    };
  }
}
