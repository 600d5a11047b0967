import type { HealthComponent } from '@twarga/contract';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../../../config/config.js';
import type { DatabaseHandle } from '../../../db/database.js';
import type { App } from '../../../http/types.js';
import type { Periodic } from '../../../lib/periodic.js';
import type { Clock } from '../../../lib/time.js';
import type { ComputeRegistry } from '../../../compute/registry.js';
import type { HostsRepository } from '../../hosts/hosts.repository.js';
import { HealthService } from '../../health/health.service.js';
import type { createSoc } from '../../soc/wiring.js';
import { HostProber } from './host-probe.js';
import { AdminStatisticsService } from './statistics.js';
import { StatisticsRepository } from './statistics.repository.js';
import { SystemHealth, type ServerProcesses } from './system-health.js';
import { systemRoutes } from './system.routes.js';

export interface SystemDeps {
  database: DatabaseHandle;
  config: Config;
  version: string;
  hostsRepo: HostsRepository;
  drivers: ComputeRegistry;
  /** The background jobs whose last run the health page shows. */
  jobs: () => Periodic[];
  /** The server processes on this database (cluster/presence.ts). */
  processes: ServerProcesses;
  soc: ReturnType<typeof createSoc>;
  /** Instant VMs' warm snapshots as a health component (undefined when off). */
  instantVms?: () => Promise<HealthComponent | undefined>;
  clock: Clock;
  log: FastifyBaseLogger;
  /** Budget of each probe (database, every host); the endpoint answers within about this. Default 2500 ms. */
  probeTimeoutMs?: number;
}

/** System health (database, hosts, disk, jobs, syslog receiver, the server) and statistics for admins. */
export function createAdminSystem(d: SystemDeps) {
  const timeoutMs = d.probeTimeoutMs ?? 2500;
  const prober = new HostProber(d.drivers, { timeoutMs });
  const { syslog } = d.soc;
  const health = new SystemHealth({
    database: d.database,
    health: new HealthService({ database: d.database, version: d.version, dataDir: d.config.dataDir, minFreeDiskMb: d.config.minFreeDiskMb, log: d.log }),
    dataDir: d.config.dataDir,
    minFreeDiskMb: d.config.minFreeDiskMb,
    version: d.version,
    hostsRepo: d.hostsRepo,
    prober,
    jobs: d.jobs,
    processes: d.processes,
    syslog: { listen: d.config.syslogListen, listening: () => syslog.listening, stats: () => syslog.stats() },
    instantVms: d.instantVms ?? (async () => undefined),
    clock: d.clock,
    log: d.log,
    timeoutMs,
  });
  const statistics = new AdminStatisticsService(new StatisticsRepository(d.database.db), health, d.clock);
  return {
    health,
    statistics,
    prober,
    async register(app: App): Promise<void> {
      await app.register(systemRoutes, { health, statistics });
    },
  };
}
