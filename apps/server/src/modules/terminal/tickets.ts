import { createHash, randomBytes } from 'node:crypto';
import type { TerminalKind } from '@twarga/contract';
import type { Clock } from '../../lib/time.js';

export interface TicketGrant {
  userId: number;
  isAdmin: boolean;
  vmId: number;
  kind: TerminalKind;
  cols: number;
  rows: number;
  sourceIp: string;
}

export type TicketRedemption =
  | { ok: true; grant: TicketGrant }
  | { ok: false; reason: 'ticket_unknown' | 'ticket_reused' | 'ticket_expired' };

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
    const entry = this.entries.get(hash(ticket));
    const now = this.clock.now().getTime();
    if (!entry) return { ok: false, reason: 'ticket_unknown' };
    if (entry.usedAt !== undefined) return { ok: false, reason: 'ticket_reused' };
    entry.usedAt = now;
    if (now >= entry.expiresAt) return { ok: false, reason: 'ticket_expired' };
    return { ok: true, grant: entry.grant };
  }

  /** Unredeemed, unexpired tickets a user holds (they count against the session limit). */
  pending(userId: number): number {
    const now = this.clock.now().getTime();
    let n = 0;
    for (const e of this.entries.values()) if (e.grant.userId === userId && e.usedAt === undefined && e.expiresAt > now) n++;
    return n;
  }

  /** Forgets entries well past expiry (kept one extra TTL to tell "reused/expired" from "unknown"). */
  private sweep(): void {
    const horizon = this.clock.now().getTime() - this.ttlMs;
    for (const [k, e] of this.entries) if (e.expiresAt < horizon) this.entries.delete(k);
  }
}
