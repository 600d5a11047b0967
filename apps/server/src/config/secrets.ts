import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, renameSync, chmodSync, statSync } from 'node:fs';
import path from 'node:path';

export interface Secrets {
  /** HMAC key for CSRF tokens bound to a session. */
  csrfKey: string;
  /** AES-256-GCM key for the VMs' console private keys stored in the database. */
  consoleKeyKey: string;
  /** AES-256-GCM key for the webhook signing secrets stored in the database. */
  notificationKey: string;
}

const KEYS: (keyof Secrets)[] = ['csrfKey', 'consoleKeyKey', 'notificationKey'];
const valid = (v: unknown) => typeof v === 'string' && v.length >= 32;

/**
 * Loads the instance's secrets, generating and persisting them (mode 0600) on first start.
 * A secret added by a newer version is generated once and written back; existing ones never change.
 */
export function loadOrCreateSecrets(dataDir: string): Secrets {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, 'secrets.json');
  let stored: Partial<Record<keyof Secrets, unknown>> = {};
  try {
    stored = JSON.parse(readFileSync(file, 'utf8')) as typeof stored;
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (KEYS.every((k) => valid(stored[k]))) return stored as Secrets;
  const secrets = { ...stored } as Secrets;
  for (const k of KEYS) if (!valid(secrets[k])) secrets[k] = randomBytes(32).toString('base64url');
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(secrets, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  renameSync(tmp, file);
  return secrets;
}
