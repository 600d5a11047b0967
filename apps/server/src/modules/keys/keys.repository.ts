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

  insert(k: Omit<SshKey, 'id'> & { user_id: number }): Promise<SshKey> {
    return this.db.insertInto('ssh_keys').values(k).returning(COLUMNS).executeTakeFirstOrThrow();
  }

  async delete(userId: number, id: number): Promise<SshKey | undefined> {
    return this.db.deleteFrom('ssh_keys').where('user_id', '=', userId).where('id', '=', id).returning(COLUMNS).executeTakeFirst();
  }
}
