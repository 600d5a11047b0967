import { createHash } from 'node:crypto';
import type { ClusterSettingsRepository } from './cluster-settings.repository.js';
import { ConfigError } from '../config/config.js';
import type { Secrets } from '../config/secrets.js';

/** A digest that tells two secrets.json apart without revealing them. */
export function secretsFingerprint(secrets: Secrets): string {
  const hash = createHash('sha256');
  for (const key of Object.keys(secrets).sort()) hash.update(`${key}=${secrets[key as keyof Secrets]}\n`);
  return hash.digest('hex').slice(0, 16);
}

/**
 * Every server process on one PostgreSQL must use the same secrets.json: the first one records
 * its fingerprint, a later one with other secrets refuses to start and says how to join.
 */
export async function assertSharedSecrets(settings: ClusterSettingsRepository, secrets: Secrets, secretsFile: string): Promise<void> {
  const mine = secretsFingerprint(secrets);
  const shared = await settings.claim('secrets_fingerprint', mine, new Date().toISOString());
  if (shared === mine) return;
  throw new ConfigError(
    `${secretsFile} is not the one the other server processes on this database use (fingerprint ${mine}, theirs ${shared}). ` +
      'Copy secrets.json from a running process\'s data directory (mode 0600) and start again. ' +
      "If the original is lost for good: DELETE FROM cluster_settings WHERE name = 'secrets_fingerprint' (stored webhook secrets must then be re-entered).",
  );
}
