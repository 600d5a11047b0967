import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, renameSync, chmodSync, statSync } from 'node:fs';
import path from 'node:path';

export interface Secrets {
  /** HMAC key for CSRF tokens bound to a session. */
  csrfKey: string;
}

/** Loads the instance's secrets, generating and persisting them (mode 0600) on first start. */
export function loadOrCreateSecrets(dataDir: string): Secrets {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, 'secrets.json');
  try {
    const secrets = JSON.parse(readFileSync(file, 'utf8')) as Secrets;
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    if (typeof secrets.csrfKey === 'string' && secrets.csrfKey.length >= 32) return secrets;
    throw new Error(`${file} is missing csrfKey`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const secrets: Secrets = { csrfKey: randomBytes(32).toString('base64url') };
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(secrets, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  renameSync(tmp, file);
  return secrets;
}
