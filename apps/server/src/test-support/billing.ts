import type { Db } from '../db/database.js';
import type { Harness } from './harness.js';

/** Test helpers of the billing tests (not product code). */

/** Moves the harness clock to an absolute time (it only moves by minutes). */
export function setClock(h: Harness, at: string | number): void {
  const target = typeof at === 'string' ? Date.parse(at) : at;
  h.clock.advanceMinutes((target - h.clock.now().getTime()) / 60_000);
}

/**
 * Inserts running VMs straight into the table (many VMs fast, no driver): each with its paid-up
 * mark at `billedUntil` and an hourly price. Returns their ids.
 */
export async function insertRunningVms(db: Db, userId: number, count: number, opts: { billedUntil: string; price?: number; prefix?: string }): Promise<number[]> {
  const at = opts.billedUntil;
  const rows = Array.from({ length: count }, (_, i) => ({
    user_id: userId, name: `${opts.prefix ?? 'bulk'}${i}`, status: 'running', os_type: 'linux', image: 'tiny', size: 's-1vcpu-1gb', ram: 1024, cpu: 1, disk: 1,
    price_hourly: opts.price ?? 4, driver: 'fake', ssh_user: 'root', ssh_keys: '[]', locked: 0 as const, watchdog_reset: 0 as const, billed_until: at, created_at: at, updated_at: at,
  }));
  return (await db.insertInto('vms').values(rows).returning('id').execute()).map((r) => r.id);
}

/** Every user's cached balance next to the sum of their ledger rows. */
export async function balancesAndLedgerSums(db: Db): Promise<{ id: number; credits: number; ledger: number }[]> {
  const users = await db.selectFrom('users').select(['id', 'credits']).orderBy('id').execute();
  const sums = await db.selectFrom('credit_ledger').select(['user_id', (eb) => eb.fn.sum<number>('amount').as('total')]).groupBy('user_id').execute();
  const byUser = new Map(sums.map((s) => [s.user_id, Number(s.total)]));
  return users.map((u) => ({ id: u.id, credits: Number(u.credits), ledger: byUser.get(u.id) ?? 0 }));
}

/** Hours charged per VM by usage rows, and whether any (vm, period) appears twice. */
export async function usageByVm(db: Db): Promise<{ hours: Map<number, number>; duplicates: number }> {
  const rows = await db.selectFrom('credit_ledger').select(['vm_id', 'period', 'hours']).where('kind', '=', 'usage').execute();
  const hours = new Map<number, number>();
  const seen = new Set<string>();
  let duplicates = 0;
  for (const r of rows) {
    hours.set(r.vm_id!, (hours.get(r.vm_id!) ?? 0) + r.hours!);
    const key = `${r.vm_id} ${r.period}`;
    if (seen.has(key)) duplicates++;
    seen.add(key);
  }
  return { hours, duplicates };
}
