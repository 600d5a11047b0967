import type { SshKey } from '@twarga/contract';
import { notFound } from '../../http/errors.js';
import type { Identity } from '../auth/identity.js';
import type { KeysService } from '../keys/keys.service.js';

/** A DO SSH key (godo keys.go): the fingerprint is the MD5 colon-hex one DO shows. */
export interface DoKey {
  id: number;
  fingerprint: string;
  public_key: string;
  name: string;
}

export const toDoKey = (k: SshKey): DoKey => ({ id: k.id, fingerprint: k.fingerprint_md5, public_key: k.public_key, name: k.name });

/**
 * The caller's key a DO path names: our integer id, the MD5 fingerprint (DO's, colon hex) or the
 * SHA256 one (`SHA256:…`, as ssh-keygen prints it). Another user's key is not found, like on /api.
 */
export async function findDoKey(keys: KeysService, identity: Identity, ref: string): Promise<SshKey> {
  if (/^[0-9]{1,15}$/.test(ref)) return keys.get(identity, Number(ref));
  const wanted = ref.trim();
  // A user has at most maxKeysPerUser keys: a scan of their own list is cheap and needs no new SQL.
  const key = (await keys.list(identity)).find((k) => k.fingerprint_md5.toLowerCase() === wanted.toLowerCase() || k.fingerprint === wanted || k.fingerprint === `SHA256:${wanted}`);
  if (!key) throw notFound('SSH key');
  return key;
}
