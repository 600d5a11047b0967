import type { FastifyBaseLogger } from 'fastify';
import type { Snapshot, SnapshotList } from '@twarga/contract';
import { snapshotId } from '../../compute/driver.js';
import { AppError, conflict, notFound } from '../../http/errors.js';
import type { Clock } from '../../lib/time.js';
import type { Identity, RequestContext } from '../auth/identity.js';
import type { EventLog } from '../events/event-log.js';
import type { VmsService } from '../vms/vms.service.js';
import type { SnapshotActions } from './snapshot-actions.js';
import { toSnapshot } from './snapshot-view.js';
import type { SnapshotRow, SnapshotsRepository } from './snapshots.repository.js';

/**
 * A user's snapshots: the lists (with quota and price), one snapshot, and deletion. Taking and
 * restoring snapshots are VM actions (VmsService.act → SnapshotActions).
 */
export class SnapshotsService {
  constructor(
    private readonly d: {
      repo: SnapshotsRepository;
      actions: SnapshotActions;
      vms: VmsService;
      events: EventLog;
      clock: Clock;
      log: FastifyBaseLogger;
      priceGbMonth: number;
    },
  ) {}

  private view = (r: SnapshotRow) => toSnapshot(r, this.d.priceGbMonth);

  private async listOf(ownerId: number, rows: SnapshotRow[]): Promise<SnapshotList> {
    const [used, limit] = await Promise.all([this.d.repo.countLive(ownerId), this.d.actions.limitFor(ownerId)]);
    return { snapshots: rows.map(this.view), used, limit, price_gb_month: this.d.priceGbMonth };
  }

  /** A VM's snapshots, for whoever may see the VM (its owner, an admin); quota is the owner's. */
  async listForVm(identity: Identity, vmId: number): Promise<SnapshotList> {
    const vm = await this.d.vms.findVisible(identity, vmId);
    return this.listOf(vm.user_id, await this.d.repo.listForVm(vm.id));
  }

  /** The caller's own snapshots (admins too: their own). */
  async listMine(identity: Identity): Promise<SnapshotList> {
    return this.listOf(identity.user.id, await this.d.repo.listForUser(identity.user.id));
  }

  /** One of the caller's snapshots; anyone else's is indistinguishable from a missing one. */
  private async findOwn(identity: Identity, id: number): Promise<SnapshotRow> {
    const row = await this.d.repo.find(id);
    if (!row || row.deleted_at || row.user_id !== identity.user.id) throw notFound('Snapshot');
    return row;
  }

  async get(identity: Identity, id: number): Promise<Snapshot> {
    return this.view(await this.findOwn(identity, id));
  }

  /**
   * Removes the snapshot's files and ends its storage charges (the day it is deleted in is still
   * charged). The row stays for the billing history. 409 while it is being taken or read (a
   * restore, a VM created from it). When the files cannot be removed now, it stays 'deleting'
   * and the snapshot reconciler finishes the job.
   */
  async delete(identity: Identity, id: number, ctx: RequestContext): Promise<void> {
    const { repo, actions, events, clock, log } = this.d;
    const snap = await this.findOwn(identity, id);
    if (snap.status === 'creating') throw conflict(`Snapshot ${snap.name} is still being taken: delete it once it is done`);
    if (actions.isInUse(snap.id)) throw conflict(`Snapshot ${snap.name} is being restored or copied into a new VM right now: try again when that is done`);
    const now = clock.now().toISOString();
    const marked = snap.status === 'deleting' ? snap : await repo.transition(snap.id, snap.status, { status: 'deleting', updated_at: now });
    if (!marked) throw conflict(`Snapshot ${snap.name} changed meanwhile: try again`);
    try {
      const driver = await actions.driverOf(snap);
      await driver.deleteSnapshot(snapshotId(snap.id));
    } catch (err) {
      if (err instanceof AppError && err.code === 'not_supported') {
        // Its host no longer has a snapshot-capable driver: nothing there to remove.
      } else {
        log.warn({ err, snapshot: snap.id }, 'could not remove a snapshot\'s files; the snapshot reconciler retries');
        throw new AppError(503, 'service_unavailable', `Snapshot ${snap.name} could not be removed from its host right now; it is marked deleting and removal is retried`);
      }
    }
    await repo.markDeleted(snap.id, clock.now().toISOString());
    await events.record({ type: 'vm', action: 'snapshot.deleted', message: `${identity.user.username} deleted snapshot ${snap.name} (of VM ${snap.vm_name})`, userId: identity.user.id, username: identity.user.username, vmId: snap.vm_id, sourceIp: ctx.ip, details: { snapshot_id: snap.id, size_bytes: Number(snap.size_bytes) } });
  }
}
