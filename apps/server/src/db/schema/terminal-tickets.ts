// GROUNDWORK: owned by the terminal-tickets helper (issue 16). Table types for migration 024.
export interface TerminalTicketsTable {
  ticket_hash: string;
}
