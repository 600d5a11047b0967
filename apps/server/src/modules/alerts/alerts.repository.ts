import type { Selectable } from 'kysely';
import type { Alert, AlertPolicy } from '@twarga/contract';
import type { Db } from '../../db/database.js';
import type { AlertPoliciesTable, AlertsTable } from '../../db/schema.js';

type PolicyRow = Selectable<AlertPoliciesTable>;
type AlertRow = Selectable<AlertsTable>;

/** A policy's stored fields, as the service writes them. */
export type PolicyFields = Omit<AlertPolicy, 'id' | 'created_at' | 'updated_at'>;

/** An alert with the internal fields the engine needs (the API shows the Alert subset). */
export type StoredAlert = Alert & { open_key: string; last_notified_at: string | null; notified: 'opened' | 'resolved' | null };

export type NewAlert = Omit<Alert, 'id' | 'state' | 'resolved_at' | 'last_value'> & { open_key: string };

function toPolicy(r: PolicyRow): AlertPolicy {
  return {
    id: r.id,
    user_id: r.user_id,
    entity: r.entity as AlertPolicy['entity'],
    metric: r.metric,
    compare: r.compare as AlertPolicy['compare'],
    value: Number(r.value),
    window: r.window as AlertPolicy['window'],
    vm_ids: JSON.parse(r.vm_ids) as number[],
    channel_ids: JSON.parse(r.channel_ids) as number[],
    description: r.description,
    enabled: r.enabled === 1,
    created_at: r.created_at,
    updated_at: r.updated_at,
  };
}

function toStored(r: AlertRow): StoredAlert {
  const num = (v: number | null) => (v === null ? null : Number(v));
  return {
    id: r.id,
    policy_id: r.policy_id,
    user_id: r.user_id,
    entity: r.entity as Alert['entity'],
    vm_id: r.vm_id,
    metric: r.metric,
    compare: r.compare as Alert['compare'],
    threshold: num(r.threshold),
    value: num(r.value),
    last_value: num(r.last_value),
    state: r.state as Alert['state'],
    message: r.message,
    opened_at: r.opened_at,
    resolved_at: r.resolved_at,
    open_key: r.open_key,
    last_notified_at: r.last_notified_at,
    notified: r.notified as StoredAlert['notified'],
  };
}

/** The public fields of an alert. */
export function publicAlert(a: StoredAlert): Alert {
  const { open_key: _k, last_notified_at: _n, notified: _w, ...alert } = a;
  return alert;
}

function policyColumns(p: Partial<PolicyFields>) {
  const { vm_ids, channel_ids, enabled, ...rest } = p;
  return {
    ...rest,
    ...(vm_ids !== undefined ? { vm_ids: JSON.stringify(vm_ids) } : {}),
    ...(channel_ids !== undefined ? { channel_ids: JSON.stringify(channel_ids) } : {}),
    ...(enabled !== undefined ? { enabled: enabled ? 1 : 0 } : {}),
  };
}

export interface AlertFilter {
  /** Only alerts of this owner (users); undefined: everyone's (admins). */
  userId?: number;
  vmId?: number;
  state?: 'open' | 'resolved';
  limit: number;
}

export class AlertsRepository {
  constructor(private readonly db: Db) {}

  // Policies

  /** A user's policies; with admin, also the system policies and every host policy. */
  async listPolicies(userId: number, admin: boolean): Promise<AlertPolicy[]> {
    const rows = await this.db
      .selectFrom('alert_policies')
      .selectAll()
      .where((eb) => (admin ? eb.or([eb('user_id', '=', userId), eb('user_id', 'is', null), eb('entity', '=', 'host')]) : eb('user_id', '=', userId)))
      .orderBy('id')
      .execute();
    return rows.map(toPolicy);
  }

  async findPolicy(id: number): Promise<AlertPolicy | undefined> {
    const row = await this.db.selectFrom('alert_policies').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toPolicy(row);
  }

  async enabledPolicies(): Promise<AlertPolicy[]> {
    const rows = await this.db.selectFrom('alert_policies').selectAll().where('enabled', '=', 1).orderBy('id').execute();
    return rows.map(toPolicy);
  }

  async countPolicies(userId: number): Promise<number> {
    const row = await this.db
      .selectFrom('alert_policies')
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async insertPolicy(p: PolicyFields, now: string): Promise<AlertPolicy> {
    const row = await this.db
      .insertInto('alert_policies')
      .values({
        user_id: p.user_id, entity: p.entity, metric: p.metric, compare: p.compare, value: p.value, window: p.window,
        vm_ids: JSON.stringify(p.vm_ids), channel_ids: JSON.stringify(p.channel_ids), description: p.description, enabled: p.enabled ? 1 : 0,
        created_at: now, updated_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toPolicy(row);
  }

  async updatePolicy(id: number, patch: Partial<PolicyFields>, now: string): Promise<AlertPolicy | undefined> {
    const row = await this.db
      .updateTable('alert_policies')
      .set({ ...policyColumns(patch), updated_at: now })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    return row && toPolicy(row);
  }

  async deletePolicy(id: number): Promise<boolean> {
    const res = await this.db.deleteFrom('alert_policies').where('id', '=', id).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  // Alerts

  async listAlerts(f: AlertFilter): Promise<Alert[]> {
    let q = this.db.selectFrom('alerts').selectAll().orderBy('id', 'desc').limit(f.limit);
    if (f.userId !== undefined) q = q.where('user_id', '=', f.userId);
    if (f.vmId !== undefined) q = q.where('vm_id', '=', f.vmId);
    if (f.state) q = q.where('state', '=', f.state);
    return (await q.execute()).map((r) => publicAlert(toStored(r)));
  }

  async openAlerts(): Promise<StoredAlert[]> {
    return (await this.db.selectFrom('alerts').selectAll().where('state', '=', 'open').execute()).map(toStored);
  }

  async findOpen(openKey: string): Promise<StoredAlert | undefined> {
    const row = await this.db.selectFrom('alerts').selectAll().where('open_key', '=', openKey).where('state', '=', 'open').executeTakeFirst();
    return row && toStored(row);
  }

  /** The newest alert of a key (open or not), and the newest one that caused a notification. */
  async latestForKey(openKey: string): Promise<{ latest?: StoredAlert; notified?: StoredAlert }> {
    const latest = await this.db.selectFrom('alerts').selectAll().where('open_key', '=', openKey).orderBy('id', 'desc').limit(1).executeTakeFirst();
    const notified = await this.db
      .selectFrom('alerts')
      .selectAll()
      .where('open_key', '=', openKey)
      .where('last_notified_at', 'is not', null)
      .orderBy('last_notified_at', 'desc')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return { latest: latest && toStored(latest), notified: notified && toStored(notified) };
  }

  /**
   * Opens an alert, or returns undefined when one with the same key is open already: the unique
   * index over open rows decides, so two writers can never both open it.
   */
  async open(a: NewAlert): Promise<StoredAlert | undefined> {
    const row = await this.db
      .insertInto('alerts')
      .values({ ...a, state: 'open', last_value: a.value, resolved_at: null, last_notified_at: null, notified: null })
      .onConflict((oc) => oc.doNothing())
      .returningAll()
      .executeTakeFirst();
    return row && toStored(row);
  }

  /** Resolves the open alert of a key once: undefined when none is open (already resolved). */
  async resolve(openKey: string, at: string, lastValue: number | null): Promise<StoredAlert | undefined> {
    const row = await this.db
      .updateTable('alerts')
      .set({ state: 'resolved', resolved_at: at, last_value: lastValue })
      .where('open_key', '=', openKey)
      .where('state', '=', 'open')
      .returningAll()
      .executeTakeFirst();
    return row && toStored(row);
  }

  async setLastValue(id: number, value: number): Promise<void> {
    await this.db.updateTable('alerts').set({ last_value: value }).where('id', '=', id).where('state', '=', 'open').execute();
  }

  async markNotified(id: number, what: 'opened' | 'resolved', at: string): Promise<void> {
    await this.db.updateTable('alerts').set({ last_notified_at: at, notified: what }).where('id', '=', id).execute();
  }
}
