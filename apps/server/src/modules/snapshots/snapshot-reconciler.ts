import type { FastifyBaseLogger } from 'fastify';
import { hasSnapshots, snapshotId, SNAPSHOT_ID_PATTERN, type ComputeDriver, type SnapshotStore } from '../../compute/driver.js';
import type { ComputeRegistry } from '../../compute/registry.js';
import { Periodic } from '../../lib/periodic.js';
import type { Clock } from '../../lib/time.js';
import type { EventLog } from '../events/event-log.js';
import type { SnapshotRow, SnapshotsRepository } from './snapshots.repository.js';

/**
 * A 'creating' row younger than this may belong to an action being dispatched right now (its
 * row is written a few milliseconds before the action starts): left alone until it is older.
 */
export const CREATING_GRACE_MS = 30_000;

/**
 * Compares the snapshot rows with the files each snapshot-capable host has, at start-up and on
 * the VM reconciler's cadence:
 * - 'creating' with no action running (the server stopped while it ran): error, files removed;
 * - 'deleting' (the files could not be removed, or the server stopped): removal finished;
 * - 'available' whose files the host no longer lists: error, event snapshot.missing;
 * - files with no live row: removed, event snapshot.orphan_removed.
 */
export class SnapshotReconciler {
  private readonly periodic: Periodic;
  /** Set by recoverAfterRestart: every 'creating' row is then a leftover (no action survives a restart). */
  private restarted = false;

  get job(): Periodic {
    return this.periodic;
  }

  constructor(
    private readonly d: {
      repo: SnapshotsRepository;
      drivers: ComputeRegistry;
      events: EventLog;
      clock: Clock;
      log: FastifyBaseLogger;
      /** True while a live server process runs an action on the VM (ActionsRepository.hasLiveAction). */
      isBusy: (vmId: number) => Promise<boolean>;
      /** True while a restore or a VM creation reads the snapshot (SnapshotActions.isInUse). */
      isInUse: (snapshotId: number) => boolean;
    },
  ) {
    this.periodic = new Periodic('snapshot-reconcile', () => this.reconcile(), d.log);
  }

  /** First pass after a (re)start: snapshots that were being taken cannot finish any more. */
  async recoverAfterRestart(): Promise<void> {
    this.restarted = true;
    try {
      await this.pass();
    } finally {
      this.restarted = false;
    }
  }

  start(intervalMs: number): void {
    this.periodic.start(intervalMs);
  }

  stop(): void {
    this.periodic.stop();
  }

  pass(): Promise<void> {
    return this.periodic.run();
  }

  private async reconcile(): Promise<void> {
    // Rows first, files after: a snapshot that becomes available in between is then seen as
    // 'creating' here (left alone), never as available-but-missing.
    const rows = await this.d.repo.listLive();
    for (const row of rows) {
      await this.settle(row).catch((err: unknown) => this.d.log.warn({ err, snapshot: row.id }, 'reconciling a snapshot failed'));
    }
    const live = new Set(rows.map((r) => snapshotId(r.id)));
    for (const { host, driver } of await this.d.drivers.inUse()) {
      if (!hasSnapshots(driver)) continue;
      // One unreachable host must not stop the sweep of the others.
      await this.sweepHost(host.id, host.name, driver, rows, live).catch((err: Error) => this.d.log.warn({ host: host.name, err: err.message }, 'snapshot sweep failed'));
    }
  }

  private async driverOf(row: SnapshotRow): Promise<(ComputeDriver & SnapshotStore) | undefined> {
    const host = await this.d.drivers.hostOf(row);
    if (!host || host.enabled !== 1 || !this.d.drivers.supports(host.driver)) return undefined;
    const driver = this.d.drivers.forHost(host);
    return hasSnapshots(driver) ? driver : undefined;
  }

  /** Rows stuck in 'creating' or 'deleting'. */
  private async settle(row: SnapshotRow): Promise<void> {
    const { repo, events, clock } = this.d;
    const now = clock.now().toISOString();
    if (row.status === 'creating') {
      // Its action may run in another process (or was taken over): never cut it while it is live.
      if (row.vm_id !== null && (await this.d.isBusy(row.vm_id))) return;
      if (!this.restarted && clock.now().getTime() - Date.parse(row.created_at) < CREATING_GRACE_MS) return;
      const failed = await repo.transition(row.id, 'creating', { status: 'error', error: 'interrupted: the server stopped while the snapshot was being taken', updated_at: now });
      if (!failed) return;
      await (await this.driverOf(row))?.deleteSnapshot(snapshotId(row.id));
      await events.record({ type: 'vm', severity: 'warning', action: 'vm.snapshot_failed', message: `Snapshot ${row.name} of VM ${row.vm_name} was interrupted (the server stopped while it was taken); its partial files were removed`, userId: row.user_id, vmId: row.vm_id, details: { snapshot_id: row.id } });
    } else if (row.status === 'deleting') {
      const driver = await this.driverOf(row);
      if (!driver) return;
      await driver.deleteSnapshot(snapshotId(row.id));
      await repo.markDeleted(row.id, now);
      await events.record({ type: 'vm', action: 'snapshot.deleted', message: `Snapshot ${row.name} of VM ${row.vm_name}: its interrupted deletion was finished`, userId: row.user_id, vmId: row.vm_id, details: { snapshot_id: row.id } });
    }
  }

  /** One host's files against the rows: available snapshots gone missing, files nobody owns. */
  private async sweepHost(hostId: number, hostName: string, driver: ComputeDriver & SnapshotStore, rows: SnapshotRow[], live: Set<string>): Promise<void> {
    const { repo, events, clock, log } = this.d;
    const files = new Set(await driver.listSnapshots());
    for (const row of rows) {
      if (row.host_id !== hostId || row.status !== 'available' || files.has(snapshotId(row.id))) continue;
      const now = clock.now().toISOString();
      const missing = await repo.transition(row.id, 'available', { status: 'error', error: 'its files are missing from its host', updated_at: now });
      if (!missing) continue;
      log.warn({ snapshot: row.id, host: hostName }, 'snapshot files missing');
      await events.record({ type: 'vm', severity: 'warning', action: 'snapshot.missing', message: `Snapshot ${row.name} of VM ${row.vm_name}: its files are gone from host ${hostName}; marked error (its storage is no longer charged)`, userId: row.user_id, vmId: row.vm_id, details: { snapshot_id: row.id, host: hostName } });
    }
    for (const file of files) {
      if (live.has(file) || !SNAPSHOT_ID_PATTERN.test(file)) continue;
      const id = Number(file.slice(5));
      // Read again: a snapshot admitted after the rows were listed has files but was not in them.
      const row = await repo.find(id);
      if ((row && !row.deleted_at) || this.d.isInUse(id)) continue;
      log.warn({ snapshot: file, host: hostName }, 'removing snapshot files with no live snapshot');
      await driver.deleteSnapshot(file);
      await events.record({ type: 'system', severity: 'warning', action: 'snapshot.orphan_removed', message: `Removed orphaned snapshot files ${file} on host ${hostName}`, userId: row?.user_id ?? null, details: { snapshot: file, host: hostName } });
    }
  }
}
