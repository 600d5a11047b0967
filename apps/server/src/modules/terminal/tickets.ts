import { createHash, randomBytes } from 'node:crypto';
import type { TerminalKind } from '@twarga/contract';
import type { Clock } from '../../lib/time.js';
import type { Identity } from '../auth/identity.js';
import type { AccessGrant, AccessWatch, LiveAccess } from '../auth/live-access.js';
import type { TicketsRepository } from './tickets.repository.js';

/** What a ticket is asked for with: the credential (AccessGrant) and the terminal wanted. */
export interface TicketRequest extends AccessGrant {
  vmId: number;
  kind: TerminalKind;
  cols: number;
  rows: number;
  sourceIp: string;
}

export interface TicketGrant extends Omit<TicketRequest, 'credentialHash' | 'via'> {
  /** Follows the credential the ticket was asked with and the right to the VM, in the redeeming process. */
  access: AccessWatch;
}

export type TicketRedemption =
  | { ok: true; grant: TicketGrant }
  | { ok: false; reason: 'ticket_unknown' | 'ticket_reused' | 'ticket_expired' | 'ticket_revoked' };

/** The right to the VM, checked against a fresh identity (TerminalService.mayUse). */
export type VmRight = (identity: Identity, vmId: number) => Promise<string | undefined>;

const hash = (ticket: string) => createHash('sha256').update(ticket).digest('hex');

/**
 * Short-lived, single-use websocket tickets in the database, so any server process redeems what
 * any other issued. Only hashes are stored. A row cannot hold a live AccessWatch: the redeeming
 * process builds one from the stored credential hash and checks it before granting anything.
 * The issuing process also watches its unused tickets, so one whose login or right goes stops
 * counting against the session limit at once (revoked_at); were that process to die, its
 * tickets expire within the TTL anyway.
 */
export class TerminalTickets {
  private readonly issued = new Map<string, { watch: AccessWatch; timer: NodeJS.Timeout }>();

  constructor(
    private readonly d: { repo: TicketsRepository; access: LiveAccess; right: VmRight; ttlMs: number; clock: Clock },
  ) {}

  async issue(request: TicketRequest): Promise<{ ticket: string; expiresAt: Date }> {
    const { repo, clock, ttlMs } = this.d;
    const now = clock.now().getTime();
    // Kept one extra TTL past expiry to tell "reused/expired" from "unknown", then deleted.
    await repo.deleteExpiredBefore(new Date(now - ttlMs).toISOString());
    const ticket = randomBytes(32).toString('base64url');
    const ticketHash = hash(ticket);
    const expiresAt = new Date(now + ttlMs);
    const { userId, credentialHash, via, vmId, kind, cols, rows, sourceIp } = request;
    await repo.insert({
      ticket_hash: ticketHash, user_id: userId, credential_hash: credentialHash, via, vm_id: vmId, kind, cols, rows, source_ip: sourceIp,
      expires_at: expiresAt.toISOString(), used_at: null, revoked_at: null,
    });
    const watch = this.watch(request);
    watch.onRevoked(() => {
      this.forget(ticketHash);
      void repo.revoke(ticketHash, clock.now().toISOString()).catch(() => undefined);
    });
    const timer = setTimeout(() => this.forget(ticketHash), ttlMs).unref();
    this.issued.set(ticketHash, { watch, timer });
    return { ticket, expiresAt };
  }

  async redeem(ticket: string): Promise<TicketRedemption> {
    const ticketHash = hash(ticket);
    const now = this.d.clock.now();
    const row = await this.d.repo.claim(ticketHash, now.toISOString());
    this.forget(ticketHash);
    if (!row) return { ok: false, reason: (await this.d.repo.exists(ticketHash)) ? 'ticket_reused' : 'ticket_unknown' };
    if (row.revoked_at) return { ok: false, reason: 'ticket_revoked' };
    if (now.getTime() >= Date.parse(row.expires_at)) return { ok: false, reason: 'ticket_expired' };
    const grant = { userId: row.user_id, vmId: row.vm_id, kind: row.kind, cols: row.cols, rows: row.rows, sourceIp: row.source_ip };
    // The login may have ended, or the right gone, on whichever process: ask the database again.
    const access = this.watch({ ...grant, credentialHash: row.credential_hash, via: row.via });
    if (!(await access.check())) return { ok: false, reason: 'ticket_revoked' };
    return { ok: true, grant: { ...grant, access } };
  }

  /** Unredeemed, unexpired, unrevoked tickets a user holds, on every process (they count against the session limit). */
  pending(userId: number): Promise<number> {
    return this.d.repo.countPending(userId, this.d.clock.now().toISOString());
  }

  /** Stops watching this process's unused tickets (they stay redeemable elsewhere until they expire). */
  close(): void {
    for (const ticketHash of [...this.issued.keys()]) this.forget(ticketHash);
  }

  private watch(request: TicketRequest): AccessWatch {
    const { userId, credentialHash, via, vmId } = request;
    return this.d.access.watch({ userId, credentialHash, via }, (fresh) => this.d.right(fresh, vmId));
  }

  private forget(ticketHash: string): void {
    const entry = this.issued.get(ticketHash);
    if (!entry) return;
    this.issued.delete(ticketHash);
    clearTimeout(entry.timer);
    entry.watch.stop();
  }
}
