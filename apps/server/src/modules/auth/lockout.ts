import ipaddr from 'ipaddr.js';
import { addMinutes } from '../../lib/time.js';
import type { LoginFailuresRepository } from './login-failures.repository.js';

/**
 * Login lockout per account AND source. N wrong passwords for one account from one source lock
 * that pair for the lockout time: the attacker's address is stopped, the owner (another address)
 * still logs in. An unknown login name locks exactly like a real one, so neither the 401 nor the
 * 429 tells a stranger whether an account exists.
 *
 * Brute force spread over many addresses is slowed by the per-address rate limit, not by this:
 * an account-wide lock would hand every stranger a way to lock anyone out.
 */
export class LoginLockout {
  constructor(
    private readonly repo: LoginFailuresRepository,
    private readonly policy: { threshold: number; minutes: number },
  ) {}

  /** "user:<id>" for an account, "login:<name as typed>" for a name that matches none. */
  static accountKey(userId: number | undefined, login: string): string {
    return userId !== undefined ? `user:${userId}` : `login:${login.trim().toLowerCase().slice(0, 320)}`;
  }

  /** The end of the pair's lock, if one is running. */
  async lockedUntil(accountKey: string, ip: string, now: Date): Promise<Date | undefined> {
    const row = await this.repo.find(accountKey, sourceKey(ip));
    return row?.locked_until && new Date(row.locked_until) > now ? new Date(row.locked_until) : undefined;
  }

  /** Counts a failure; returns the lock's end when this failure reached the threshold. */
  async failed(accountKey: string, ip: string, now: Date): Promise<{ failures: number; lockedUntil?: Date }> {
    const source = sourceKey(ip);
    const windowStart = addMinutes(now, -this.policy.minutes).toISOString();
    const failures = await this.repo.recordFailure(accountKey, source, now.toISOString(), windowStart);
    // Old runs are forgotten here: failures are rare, so this costs nothing on the normal path.
    await this.repo.prune(windowStart, now.toISOString());
    if (failures < this.policy.threshold) return { failures };
    const lockedUntil = addMinutes(now, this.policy.minutes);
    await this.repo.lock(accountKey, source, lockedUntil.toISOString());
    return { failures, lockedUntil };
  }

  async succeeded(accountKey: string, ip: string): Promise<void> {
    await this.repo.clear(accountKey, sourceKey(ip));
  }
}

/**
 * The source a lock applies to: the IPv4 address, or the /64 of an IPv6 address (one subscriber
 * usually holds a whole /64, so counting single IPv6 addresses would give them 2^64 tries).
 */
export function sourceKey(ip: string): string {
  if (!ipaddr.isValid(ip)) return ip.slice(0, 64);
  const addr = ipaddr.process(ip); // ::ffff:192.0.2.1 → 192.0.2.1
  if (addr.kind() === 'ipv4') return addr.toString();
  const parts = (addr as ipaddr.IPv6).parts.slice(0, 4);
  return `${parts.map((p) => p.toString(16)).join(':')}::/64`;
}
