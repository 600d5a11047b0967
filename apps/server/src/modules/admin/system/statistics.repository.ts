import { sql } from 'kysely';
import type { Db } from '../../../db/database.js';

/** Ledger kinds that are VM usage: hourly charges, first hours, and first-hour refunds (positive). */
const USAGE_KINDS = ['usage', 'first_hour', 'first_hour_refund'];

const num = (v: unknown) => Number(v ?? 0);

/** The admin dashboard's counts and sums: every query of it, aggregated in the database. */
export class StatisticsRepository {
  constructor(private readonly db: Db) {}

  async users() {
    const live = sql<number>`case when deleted_at is null then 1 else 0 end`;
    const r = await this.db
      .selectFrom('users')
      .select([
        sql<number>`sum(${live})`.as('total'),
        sql<number>`sum(case when deleted_at is null and is_active = 1 then 1 else 0 end)`.as('active'),
        sql<number>`sum(case when deleted_at is null and is_admin = 1 then 1 else 0 end)`.as('admins'),
        sql<number>`sum(case when deleted_at is not null then 1 else 0 end)`.as('deleted'),
        sql<number>`sum(case when deleted_at is null and grace_started_at is not null and suspended_at is null then 1 else 0 end)`.as('in_grace'),
        sql<number>`sum(case when deleted_at is null and suspended_at is not null then 1 else 0 end)`.as('suspended'),
        sql<number>`coalesce(sum(case when deleted_at is null then credits else 0 end), 0)`.as('outstanding'),
      ])
      .executeTakeFirstOrThrow();
    return { total: num(r.total), active: num(r.active), admins: num(r.admins), deleted: num(r.deleted), in_grace: num(r.in_grace), suspended: num(r.suspended), outstanding: num(r.outstanding) };
  }

  /** Live VMs (not destroyed) by status and by health, and their hourly price together. */
  async vms() {
    const byStatus = await this.db.selectFrom('vms').where('destroyed_at', 'is', null).select(['status', sql<number>`count(*)`.as('n'), sql<number>`coalesce(sum(price_hourly), 0)`.as('burn')]).groupBy('status').execute();
    // Running VMs only, by the VM view's rule (currentHealth): a health not taken in this boot is `booting`.
    const health = sql<string>`case when health is not null and (health_boot = booted_at or (health_boot is null and booted_at is null)) then health else 'booting' end`;
    const byHealth = await this.db.selectFrom('vms').where('destroyed_at', 'is', null).where('status', '=', 'running').select([health.as('health'), sql<number>`count(*)`.as('n')]).groupBy(health).execute();
    return {
      total: byStatus.reduce((s, r) => s + num(r.n), 0),
      by_status: Object.fromEntries(byStatus.map((r) => [r.status, num(r.n)])),
      by_health: Object.fromEntries(byHealth.map((r) => [r.health, num(r.n)])),
      burn_rate_hourly: byStatus.reduce((s, r) => s + num(r.burn), 0),
    };
  }

  /** Since `from` (ISO): usage charged net of refunds (positive), and credits granted (positive rows not about a VM). */
  async credits(from: string) {
    const r = await this.db
      .selectFrom('credit_ledger')
      .where('created_at', '>=', from)
      .select([
        sql<number>`coalesce(sum(case when kind in (${sql.join(USAGE_KINDS)}) then amount else 0 end), 0)`.as('usage'),
        sql<number>`coalesce(sum(case when amount > 0 and vm_id is null then amount else 0 end), 0)`.as('granted'),
      ])
      .executeTakeFirstOrThrow();
    return { charged: -num(r.usage), granted: num(r.granted) };
  }

  /** Events since `from` (ISO), by severity. */
  async eventsBySeverity(from: string): Promise<Record<string, number>> {
    const rows = await this.db.selectFrom('events').where('timestamp', '>=', from).select(['severity', sql<number>`count(*)`.as('n')]).groupBy('severity').execute();
    return Object.fromEntries(rows.map((r) => [r.severity, num(r.n)]));
  }
}
