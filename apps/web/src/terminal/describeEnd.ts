import { TERMINAL_CLOSE_CODES, type TerminalEndReason } from '@twarga/contract/browser';
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

const CLOSE_MESSAGES: Record<number, string> = {
  [TERMINAL_CLOSE_CODES.unauthorized]: 'The server did not accept the terminal ticket.',
  [TERMINAL_CLOSE_CODES.forbiddenOrigin]: 'The server refused this page’s origin.',
  [TERMINAL_CLOSE_CODES.idleTimeout]: 'The session was idle for too long.',
  [TERMINAL_CLOSE_CODES.maxDuration]: 'The session reached its maximum duration.',
  [TERMINAL_CLOSE_CODES.ended]: 'The session was ended.',
  [TERMINAL_CLOSE_CODES.vmStopped]: 'The VM stopped.',
  [TERMINAL_CLOSE_CODES.backendError]: 'The connection to the VM failed.',
  [TERMINAL_CLOSE_CODES.accessRevoked]: 'Your access ended: you were signed out, or you may no longer use this VM.',
  1001: 'The server is restarting.',
};

/** A close with no exit or error message first: say what the code means, or that the line broke. */
export function describeClose(code: number, wasReady: boolean): TerminalEnd {
  const known = CLOSE_MESSAGES[code];
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
