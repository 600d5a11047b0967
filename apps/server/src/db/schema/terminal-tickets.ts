import type { Timestamp } from './columns.js';

/**
 * terminal_tickets (migration 024): single-use websocket tickets shared by every server process.
 * Only the ticket's sha256 is kept. A used row stays until a TTL after its expiry, so a replay
 * is told apart from an unknown ticket.
 */
export interface TerminalTicketsTable {
  /** sha256 (hex) of the ticket. */
  ticket_hash: string;
  user_id: number;
  /** The hash of the session cookie or API token the ticket was asked with (checked again at redemption). */
  credential_hash: string;
  via: 'session' | 'api_token';
  vm_id: number;
  kind: 'serial' | 'ssh';
  cols: number;
  rows: number;
  source_ip: string;
  expires_at: Timestamp;
  used_at: Timestamp | null;
  /** Set when the login or the right behind an unused ticket went (it no longer counts). */
  revoked_at: Timestamp | null;
}
