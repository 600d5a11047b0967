import type { Db } from '../../db/database.js';

/** A live VM as the exporter labels it: its name, its owner's name, its compute host's name. */
export interface InventoryVm {
  id: number;
  name: string;
  status: string;
  cpu: number;
  owner: string | null;
  host: string | null;
}

/** The read-only SQL of the Prometheus exporter: one query per scrape for every label it needs. */
export class PrometheusRepository {
  constructor(private readonly db: Db) {}

  /** Live VMs (not destroyed) with their owner and host names. */
  liveVms(): Promise<InventoryVm[]> {
    return this.db
      .selectFrom('vms')
      .leftJoin('users', 'users.id', 'vms.user_id')
      .leftJoin('compute_hosts', 'compute_hosts.id', 'vms.host_id')
      .select(['vms.id as id', 'vms.name as name', 'vms.status as status', 'vms.cpu as cpu', 'users.username as owner', 'compute_hosts.name as host'])
      .where('vms.destroyed_at', 'is', null)
      .orderBy('vms.id')
      .execute();
  }

  /** The first compute host is this machine (hosts.ensureDefault): the host the server's own samples describe. */
  async localHostName(): Promise<string | undefined> {
    const row = await this.db.selectFrom('compute_hosts').select('name').orderBy('id').limit(1).executeTakeFirst();
    return row?.name;
  }
}
