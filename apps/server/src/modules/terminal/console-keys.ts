import { createHash } from 'node:crypto';
import ssh2 from 'ssh2';
import type { Db } from '../../db/database.js';
import { seal, unseal } from '../../lib/seal.js';
import type { Clock } from '../../lib/time.js';

export const hostKeyFingerprint = (key: Buffer) => createHash('sha256').update(key).digest('base64').replace(/=+$/, '');

/**
 * Each VM's console key pair: the public half goes into the VM's seed (authorized_keys), the
 * private half stays in the database, sealed, and is used only by the server's SSH terminal.
 */
export class ConsoleKeys {
  constructor(
    private readonly db: Db,
    private readonly sealKey: string,
    private readonly clock: Clock,
  ) {}

  /** The VM's public key, creating the pair on first use (idempotent across retries). */
  async ensure(vmId: number, label: string): Promise<string> {
    const existing = await this.db.selectFrom('vm_console_keys').select('public_key').where('vm_id', '=', vmId).executeTakeFirst();
    if (existing) return existing.public_key;
    const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment: `twarga-console@${label}` });
    await this.db
      .insertInto('vm_console_keys')
      .values({ vm_id: vmId, public_key: pair.public.trim(), private_key_enc: seal(this.sealKey, pair.private), host_key_sha256: null, created_at: this.clock.now().toISOString() })
      .onConflict((oc) => oc.column('vm_id').doNothing())
      .execute();
    const row = await this.db.selectFrom('vm_console_keys').select('public_key').where('vm_id', '=', vmId).executeTakeFirstOrThrow();
    return row.public_key;
  }

  async privateKey(vmId: number): Promise<{ privateKey: string; hostKeySha256: string | null } | undefined> {
    const row = await this.db.selectFrom('vm_console_keys').select(['private_key_enc', 'host_key_sha256']).where('vm_id', '=', vmId).executeTakeFirst();
    return row && { privateKey: unseal(this.sealKey, row.private_key_enc), hostKeySha256: row.host_key_sha256 };
  }

  async pinHostKey(vmId: number, sha256: string): Promise<void> {
    await this.db.updateTable('vm_console_keys').set({ host_key_sha256: sha256 }).where('vm_id', '=', vmId).where('host_key_sha256', 'is', null).execute();
  }

  /** Forgets the pinned host key: a rebuild or a restore gives the VM other host keys, on purpose. */
  async unpinHostKey(vmId: number): Promise<void> {
    await this.db.updateTable('vm_console_keys').set({ host_key_sha256: null }).where('vm_id', '=', vmId).execute();
  }

  async remove(vmId: number): Promise<void> {
    await this.db.deleteFrom('vm_console_keys').where('vm_id', '=', vmId).execute();
  }
}
