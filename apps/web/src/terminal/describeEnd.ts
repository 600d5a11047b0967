import { TERMINAL_CLOSE_MEANINGS, type TerminalEndReason } from '@twarga/contract/browser';
import type { TerminalEnd } from './terminalSocket';

/** Short labels for the sessions tables. */
export const END_REASON_LABELS: Record<TerminalEndReason, string> = {
  closed: 'Closed',
  exited: 'Shell exited',
  idle_timeout: 'Idle timeout',
  max_duration: 'Time limit',
  ended_by_user: 'Ended by user',
  ended_by_admin: 'Ended by admin',
  vm_stopped: 'VM stopped',
  backend_error: 'Connection error',
  server_shutdown: 'Server restart',
  access_revoked: 'Access revoked',
};


/** A close with no exit or error message first: say what the code means, or that the line broke. */
export function describeClose(code: number, wasReady: boolean): TerminalEnd {
  const known = TERMINAL_CLOSE_MEANINGS[code];
  if (known) return wasReady ? { kind: 'dropped', message: known } : { kind: 'refused', message: known };
  return { kind: 'dropped', message: wasReady ? 'The connection to the server was lost.' : 'Could not open a connection to the server.' };
}

/** The status-line sentence for an ended connection. */
export function endSentence(end: TerminalEnd): string {
  const message = end.message.replace(/^./, (c) => c.toUpperCase()).replace(/([^.!?])$/, '$1.');
  switch (end.kind) {
    case 'exit':
      if (end.reason === 'access_revoked') return `Session ended, access revoked: ${message} Sign in again or ask the VM's owner.`;
      return `Session ended: ${message}${end.reason === 'exited' && end.exitCode ? ` (exit code ${end.exitCode})` : ''}`;
    case 'refused':
      return `Could not connect: ${message}`;
    case 'dropped':
      return `Disconnected: ${message}`;
    case 'closed':
      return 'Disconnected.';
  }
}
