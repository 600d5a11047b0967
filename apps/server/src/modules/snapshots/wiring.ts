import type { FastifyBaseLogger } from 'fastify';
import type { ComputeRegistry } from '../../compute/registry.js';
import type { Config } from '../../config/config.js';
import type { ExclusiveLock } from '../../lib/cluster-lock.js';
import type { Db } from '../../db/database.js';
import type { App } from '../../http/types.js';
import type { Clock } from '../../lib/time.js';
import type { EventLog } from '../events/event-log.js';
import type { UsersRepository } from '../users/users.repository.js';
import type { VmsService } from '../vms/vms.service.js';
import { SnapshotActions } from './snapshot-actions.js';
import { SnapshotReconciler } from './snapshot-reconciler.js';
import { SnapshotsRepository } from './snapshots.repository.js';
import { snapshotsRoutes } from './snapshots.routes.js';
import { SnapshotsService } from './snapshots.service.js';

export interface SnapshotsDeps {
  db: Db;
  config: Config;
  users: UsersRepository;
  drivers: ComputeRegistry;
  events: EventLog;
  clock: Clock;
  log: FastifyBaseLogger;
  admission: ExclusiveLock;
}

/**
 * Snapshots: the rules the VM actions run (actions, made before the VM operations that use them),
 * the user's snapshot API and the snapshot reconciler (both need the VM service and the VM
 * operations, given to register() and reconciler() once those exist).
 */
export function createSnapshots(d: SnapshotsDeps) {
  const repo = new SnapshotsRepository(d.db);
  const actions = new SnapshotActions({
    repo, users: d.users, drivers: d.drivers, events: d.events, clock: d.clock, log: d.log,
    // The config itself (its maxSnapshotsPerUser, dataDir, minFreeDiskMb): read at each admission.
    policy: d.config,
    admission: d.admission,
  });
  let reconciler: SnapshotReconciler | undefined;
  return {
    repo,
    actions,
    /** The snapshot reconciler; isBusy says whether a live server process runs an action on a VM. */
    reconciler(isBusy: (vmId: number) => Promise<boolean>): SnapshotReconciler {
      reconciler ??= new SnapshotReconciler({ repo, drivers: d.drivers, events: d.events, clock: d.clock, log: d.log, isBusy, isInUse: (id) => actions.isInUse(id) });
      return reconciler;
    },
    async register(app: App, vms: VmsService): Promise<void> {
      const service = new SnapshotsService({ repo, actions, vms, events: d.events, clock: d.clock, log: d.log, priceGbMonth: d.config.snapshotPriceGbMonth });
      await app.register(snapshotsRoutes, { snapshots: service, vms });
    },
  };
}
export type Snapshots = ReturnType<typeof createSnapshots>;
