import type { UserChanges } from '../../lib/user-changes.js';
import type { Identity } from './identity.js';

interface Entry {
  identity: Omit<Identity, 'fromCookie'>;
  /** When the credential itself expires (session or token), if it does. */
  expiresAt: number | null;
  cachedAt: number;
}

/**
 * Short-lived memory of "this credential belongs to this user", so an authenticated request
 * does not go to the database every time. Entries live a few seconds at most, never past the
 * credential's own expiry, and are dropped at once when anything about their user changes.
 */
export class IdentityCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    changes: UserChanges,
    private readonly ttlMs = 5_000,
    private readonly maxEntries = 10_000,
  ) {
    changes.onChange((userId) => this.dropUser(userId));
  }

  get(credentialHash: string, now: number): Entry['identity'] | undefined {
    const e = this.entries.get(credentialHash);
    if (!e) return undefined;
    if (now - e.cachedAt > this.ttlMs || (e.expiresAt !== null && now >= e.expiresAt)) {
      this.entries.delete(credentialHash);
      return undefined;
    }
    return e.identity;
  }

  set(credentialHash: string, identity: Entry['identity'], expiresAt: string | null, now: number): void {
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(credentialHash, { identity, expiresAt: expiresAt ? Date.parse(expiresAt) : null, cachedAt: now });
  }

  private dropUser(userId: number): void {
    for (const [key, e] of this.entries) if (e.identity.user.id === userId) this.entries.delete(key);
  }
}
