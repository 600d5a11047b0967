import { sql } from 'kysely';
import type { Db } from '../../db/database.js';
import { chunks, isSqlite } from './sql-dialect.js';

/** What metering needs of a VM whose next hour began. */
export interface DueVm {
  id: number;
  user_id: number;
  name: string;
  price_hourly: number;
  billed_until: string;
  destroyed_at: string | null;
  created_at: string;
}

/** A move of one VM's paid-up mark, taken only if nobody moved it since `from` was read. */
export interface Advance {
  id: number;
  from: string;
  to: string;
}

const CHUNK = 250;

/**
 * The metering pass's SQL. billed_until (a VM's paid-up mark) is billing's column of the vms
 * table: metering reads and moves it here, in bulk, so a pass over a thousand VMs is a handful
 * of statements rather than thousands.
 */
export class MeteringRepository {
  constructor(private readonly db: Db) {}

  /**
   * VMs with an hour begun and not paid: live ones whose paid time has run out, and destroyed
   * ones that lived into an hour no pass charged yet.
   */
  due(now: string): Promise<DueVm[]> {
    return this.db
      .selectFrom('vms')
      .select(['id', 'user_id', 'name', 'price_hourly', 'billed_until', 'destroyed_at', 'created_at'])
      .where('billed_until', 'is not', null)
      .where((eb) =>
        eb.or([
          eb.and([eb('destroyed_at', 'is', null), eb('billed_until', '<=', now)]),
          eb.and([eb('destroyed_at', 'is not', null), eb('billed_until', '<', eb.ref('destroyed_at'))]),
        ]),
      )
      .orderBy('id')
      .execute() as Promise<DueVm[]>;
  }

  /**
   * Where each VM's billing began, from two index lookups per VM (never a scan of its history):
   * the period of its first usage row (the start of its hourly timeline) and when its first hour
   * was charged. From these and its paid-up mark, the hours charged in a month follow
   * (chargedInMonth), however many rows the month has.
   */
  async billingStarts(vmIds: number[]): Promise<Map<number, { firstUsage: string | null; firstHour: string | null }>> {
    const out = new Map<number, { firstUsage: string | null; firstHour: string | null }>();
    for (const ids of chunks(vmIds, 500)) {
      const rows = await this.db
        .selectFrom('vms as v')
        .select((eb) => [
          'v.id',
          eb.selectFrom('credit_ledger as c').select((c) => c.fn.min<string>('c.period').as('p')).whereRef('c.vm_id', '=', 'v.id').where('c.kind', '=', 'usage').as('first_usage'),
          eb.selectFrom('credit_ledger as c').select('c.created_at').whereRef('c.vm_id', '=', 'v.id').where('c.kind', '=', 'first_hour').where('c.period', '=', '').limit(1).as('first_hour'),
        ])
        .where('v.id', 'in', ids)
        .execute();
      for (const r of rows) out.set(r.id, { firstUsage: r.first_usage ?? null, firstHour: r.first_hour ?? null });
    }
    return out;
  }

  /**
   * Compare-and-swap of many paid-up marks in one statement: a VM's mark moves only if it still
   * holds `from`. Returns the VMs whose mark this call moved (and so must charge). The list goes
   * in as one JSON parameter (json_each / jsonb_to_recordset): the statement stays small and
   * cached, however many VMs a pass has.
   */
  async advance(items: Advance[], trx: Db): Promise<Set<number>> {
    const won = new Set<number>();
    for (const part of chunks([...items].sort((a, b) => a.id - b.id), 5000)) {
      const json = JSON.stringify(part.map((a) => ({ i: a.id, f: a.from, t: a.to })));
      const query = isSqlite(trx)
        ? sql<{ id: number }>`update vms set billed_until = json_extract(j.value, '$.t') from json_each(${json}) as j
            where vms.id = json_extract(j.value, '$.i') and vms.billed_until = json_extract(j.value, '$.f') returning vms.id`
        : sql<{ id: number }>`update vms set billed_until = v.t from jsonb_to_recordset(cast(${json} as jsonb)) as v(i integer, f timestamptz, t timestamptz)
            where vms.id = v.i and vms.billed_until = v.f returning vms.id`;
      for (const r of (await query.execute(trx)).rows) won.add(r.id);
    }
    return won;
  }

  transaction<T>(fn: (trx: Db) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(fn);
  }
}
