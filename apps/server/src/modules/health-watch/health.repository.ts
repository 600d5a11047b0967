import type { Updateable } from 'kysely';
import type { Db } from '../../db/database.js';
import type { VmsTable } from '../../db/schema.js';
import type { VmRow } from '../vms/vms.repository.js';

/** The health columns a transition writes (migration 013). */
export type HealthPatch = Pick<Updateable<VmsTable>, 'health' | 'health_since' | 'health_boot' | 'health_source' | 'watchdog_reset_at'>;

/** The health columns of the vms table: what the watcher reads and writes. */
export class HealthRepository {
  constructor(private readonly db: Db) {}

  find(id: number): Promise<VmRow | undefined> {
    return this.db.selectFrom('vms').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Running and paused VMs (health is judged while running; a paused guest keeps its stored health). */
  async watchedIds(): Promise<number[]> {
    const rows = await this.db.selectFrom('vms').select('id').where('status', 'in', ['running', 'paused']).where('destroyed_at', 'is', null).orderBy('id').execute();
    return rows.map((r) => r.id);
  }

  /** VMs that no longer run but still have a stored health (stopped, errored, destroyed…). */
  async leftIds(): Promise<number[]> {
    const rows = await this.db
      .selectFrom('vms')
      .select('id')
      .where('health', 'is not', null)
      .where((eb) => eb.or([eb('status', 'not in', ['running', 'paused']), eb('destroyed_at', 'is not', null)]))
      .orderBy('id')
      .execute();
    return rows.map((r) => r.id);
  }

  /**
   * Writes a transition only if the VM is still running the same boot (booted_at unchanged): a
   * start, stop or reboot that happened meanwhile wins. Undefined when it did not apply.
   */
  save(id: number, bootedAt: string | null, patch: HealthPatch): Promise<VmRow | undefined> {
    let q = this.db.updateTable('vms').set(patch).where('id', '=', id).where('status', '=', 'running');
    q = bootedAt === null ? q.where('booted_at', 'is', null) : q.where('booted_at', '=', bootedAt);
    return q.returningAll().executeTakeFirst();
  }

  /** Forgets the health of a VM that stopped running. */
  async clear(id: number): Promise<void> {
    await this.db
      .updateTable('vms')
      .set({ health: null, health_since: null, health_boot: null, health_source: null, watchdog_reset_at: null })
      .where('id', '=', id)
      .execute();
  }
}
