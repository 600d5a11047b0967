import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../../../config/config.js';
import type { DatabaseHandle } from '../../../db/database.js';
import type { App } from '../../../http/types.js';
import type { Periodic } from '../../../lib/periodic.js';
import type { Clock } from '../../../lib/time.js';
import type { ComputeRegistry } from '../../../compute/registry.js';
import type { HostsRepository } from '../../hosts/hosts.repository.js';
import type { createSoc } from '../../soc/wiring.js';

export interface SystemDeps {
  database: DatabaseHandle;
  config: Config;
  version: string;
  hostsRepo: HostsRepository;
  drivers: ComputeRegistry;
  /** The background jobs whose last run the health page shows. */
  jobs: () => Periodic[];
  soc: ReturnType<typeof createSoc>;
  clock: Clock;
  log: FastifyBaseLogger;
}

/** System health (database, hosts, disk, jobs, syslog receiver, the server) and statistics for admins. */
export function createAdminSystem(_d: SystemDeps) {
  return {
    async register(_app: App): Promise<void> {},
  };
}
