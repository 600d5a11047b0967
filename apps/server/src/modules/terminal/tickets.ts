import { createHash, randomBytes } from 'node:crypto';
import type { TerminalKind } from '@twarga/contract';
import type { Clock } from '../../lib/time.js';
import type { AccessWatch } from '../auth/live-access.js';

export interface TicketGrant {
  userId: number;
  /** Follows the credential the ticket was asked for with and the right to the VM (LiveAccess). */
  access: AccessWatch;
  vmId: number;
  kind: TerminalKind;
  cols: number;
  rows: number;
  sourceIp: string;
}

export type TicketRedemption =
  | { ok: true; grant: TicketGrant }
  | { ok: false; reason: 'ticket_unknown' | 'ticket_reused' | 'ticket_expired' | 'ticket_revoked' };

interface Entry {
  grant: TicketGrant;
  expiresAt: number;
  usedAt?: number;
}

const hash = (ticket: string) => createHash('sha256').update(ticket).digest('base64url');

/**
 * Short-lived, single-use websocket tickets, kept in memory (a restart invalidates them, which
 * costs a click). Only hashes are kept; a redeemed ticket is remembered until it would have
 * expired so that a replay is reported as such rather than as unknown.
 */
export class TicketBook {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly ttlMs: number,
    private readonly clock: Clock,
  ) {}

  issue(grant: TicketGrant): { ticket: string; expiresAt: Date } {
    this.sweep();
    const ticket = randomBytes(32).toString('base64url');
    const expiresAt = this.clock.now().getTime() + this.ttlMs;
    this.entries.set(hash(ticket), { grant, expiresAt });
    return { ticket, expiresAt: new Date(expiresAt) };
  }

  redeem(ticket: string): TicketRedemption {
    this.sweep();
    const entry = this.entries.get(hash(ticket));
    const now = this.clock.now().getTime();
    if (!entry) return { ok: false, reason: 'ticket_unknown' };
    if (entry.usedAt !== undefined) return { ok: false, reason: 'ticket_reused' };
    entry.usedAt = now;
    // Its user's login or right went away since it was issued (the session re-checks too).
    if (entry.grant.access.revoked) return { ok: false, reason: 'ticket_revoked' };
    if (now >= entry.expiresAt) {
      entry.grant.access.stop();
      return { ok: false, reason: 'ticket_expired' };
    }
    return { ok: true, grant: entry.grant };
  }

  /** Unredeemed, unexpired tickets a user holds (they count against the session limit). */
  pending(userId: number): number {
    const now = this.clock.now().getTime();
    let n = 0;
    for (const e of this.entries.values()) if (e.grant.userId === userId && e.usedAt === undefined && e.expiresAt > now && !e.grant.access.revoked) n++;
    return n;
  }

  /** Forgets entries well past expiry (kept one extra TTL to tell "reused/expired" from "unknown"). */
  private sweep(): void {
    const now = this.clock.now().getTime();
    const horizon = now - this.ttlMs;
    for (const [k, e] of this.entries) {
      // An unused, expired ticket no longer needs its access followed.
      if (e.usedAt === undefined && e.expiresAt <= now) e.grant.access.stop();
      if (e.expiresAt < horizon) this.entries.delete(k);
    }
  }
}
