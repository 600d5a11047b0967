import type { Selectable } from 'kysely';
import type { BlockScope, SocBlock } from '@twarga/contract';
import type { Db } from '../../../db/database.js';
import type { SocBlocksTable } from '../../../db/schema.js';

/** A block with its owner (scope vm: the VM's owner), who may see and lift it. */
export type StoredBlock = Omit<SocBlock, 'active'> & { user_id: number | null };

function toBlock(r: Selectable<SocBlocksTable>): StoredBlock {
  return {
    id: r.id,
    address: r.address,
    scope: r.scope as BlockScope,
    vm_id: r.vm_id,
    user_id: r.user_id,
    reason: r.reason,
    incident_id: r.incident_id,
    rule_id: r.rule_id,
    created_by: r.created_by,
    created_at: r.created_at,
    expires_at: r.expires_at,
    lifted_at: r.lifted_at,
    lifted_by: r.lifted_by,
    offence: Number(r.offence),
  };
}

export type NewBlock = Omit<StoredBlock, 'id' | 'lifted_at' | 'lifted_by'>;

/** Address blocks. Active: not lifted and not expired. */
export class BlocksRepository {
  constructor(private readonly db: Db) {}

  async insert(b: NewBlock): Promise<StoredBlock> {
    return toBlock(await this.db.insertInto('soc_blocks').values(b).returningAll().executeTakeFirstOrThrow());
  }

  async find(id: number): Promise<StoredBlock | undefined> {
    const row = await this.db.selectFrom('soc_blocks').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toBlock(row);
  }

  /** Every block that is active at `now` (loaded into memory at start). */
  async listActive(now: string): Promise<StoredBlock[]> {
    const rows = await this.db
      .selectFrom('soc_blocks')
      .selectAll()
      .where('lifted_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .execute();
    return rows.map(toBlock);
  }

  async list(q: { userId?: number; active?: boolean; now: string; limit: number }): Promise<StoredBlock[]> {
    let query = this.db.selectFrom('soc_blocks').selectAll().orderBy('id', 'desc').limit(q.limit);
    if (q.userId !== undefined) query = query.where('user_id', '=', q.userId).where('scope', '=', 'vm');
    if (q.active === true) query = query.where('lifted_at', 'is', null).where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', q.now)]));
    if (q.active === false) query = query.where((eb) => eb.or([eb('lifted_at', 'is not', null), eb('expires_at', '<=', q.now)]));
    return (await query.execute()).map(toBlock);
  }

  async countActive(q: { userId?: number; now: string }): Promise<number> {
    let query = this.db
      .selectFrom('soc_blocks')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('lifted_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', q.now)]));
    if (q.userId !== undefined) query = query.where('user_id', '=', q.userId).where('scope', '=', 'vm');
    return Number((await query.executeTakeFirstOrThrow()).n);
  }

  /**
   * What a new block of the address must know, in one query on (address, created_at): its blocks
   * created at or after `since` (earlier offences in the look-back) and those still active at
   * `now` (one in the same place refuses the new one), whenever they were made.
   */
  async ofAddress(address: string, since: string, now: string): Promise<StoredBlock[]> {
    const rows = await this.db
      .selectFrom('soc_blocks')
      .selectAll()
      .where('address', '=', address)
      .where((eb) =>
        eb.or([eb('created_at', '>=', since), eb.and([eb('lifted_at', 'is', null), eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)])])]),
      )
      .execute();
    return rows.map(toBlock);
  }

  /** Lifts an active block; undefined when it was lifted or had expired already. */
  async lift(id: number, by: number | null, now: string): Promise<StoredBlock | undefined> {
    const row = await this.db
      .updateTable('soc_blocks')
      .set({ lifted_at: now, lifted_by: by })
      .where('id', '=', id)
      .where('lifted_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .returningAll()
      .executeTakeFirst();
    return row && toBlock(row);
  }

  /** Marks blocks that have expired by `now` as ended (lifted_at = expires_at, lifted_by null). */
  async endExpired(now: string): Promise<StoredBlock[]> {
    const rows = await this.db
      .updateTable('soc_blocks')
      .set((eb) => ({ lifted_at: eb.ref('expires_at') }))
      .where('lifted_at', 'is', null)
      .where('expires_at', 'is not', null)
      .where('expires_at', '<=', now)
      .returningAll()
      .execute();
    return rows.map(toBlock);
  }
}
