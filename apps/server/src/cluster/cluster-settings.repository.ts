import type { Db } from '../db/database.js';

/** cluster_settings: what the first server process on a database wrote, every later one reads. */
export class ClusterSettingsRepository {
  constructor(private readonly db: Db) {}

  /** The stored value, after storing `value` if nothing was stored yet (the first process wins). */
  async claim(name: string, value: string, now: string): Promise<string> {
    await this.db.insertInto('cluster_settings').values({ name, value, set_at: now }).onConflict((oc) => oc.column('name').doNothing()).execute();
    const row = await this.db.selectFrom('cluster_settings').select('value').where('name', '=', name).executeTakeFirstOrThrow();
    return row.value;
  }
}
