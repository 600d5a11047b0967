import type { SshKey } from '@twarga/contract';
import type { Db } from '../../db/database.js';

const COLUMNS = ['id', 'name', 'public_key', 'fingerprint', 'fingerprint_md5', 'key_type', 'bits', 'created_at'] as const;

export class KeysRepository {
  constructor(private readonly db: Db) {}

  listForUser(userId: number): Promise<SshKey[]> {
    return this.db.selectFrom('ssh_keys').select(COLUMNS).where('user_id', '=', userId).orderBy('id').execute();
  }

  findForUser(userId: number, id: number): Promise<SshKey | undefined> {
    return this.db.selectFrom('ssh_keys').select(COLUMNS).where('user_id', '=', userId).where('id', '=', id).executeTakeFirst();
  }

  findByFingerprint(userId: number, fingerprint: string): Promise<SshKey | undefined> {
    return this.db
      .selectFrom('ssh_keys')
      .select(COLUMNS)
      .where('user_id', '=', userId)
      .where('fingerprint', '=', fingerprint)
      .executeTakeFirst();
  }

  async countForUser(userId: number): Promise<number> {
    const row = await this.db
      .selectFrom('ssh_keys')
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  insert(k: Omit<SshKey, 'id'> & { user_id: number }): Promise<SshKey> {
    return this.db.insertInto('ssh_keys').values(k).returning(COLUMNS).executeTakeFirstOrThrow();
  }

  rename(userId: number, id: number, name: string): Promise<SshKey | undefined> {
    return this.db.updateTable('ssh_keys').set({ name }).where('user_id', '=', userId).where('id', '=', id).returning(COLUMNS).executeTakeFirst();
  }

  async delete(userId: number, id: number): Promise<SshKey | undefined> {
    return this.db.deleteFrom('ssh_keys').where('user_id', '=', userId).where('id', '=', id).returning(COLUMNS).executeTakeFirst();
  }
}
