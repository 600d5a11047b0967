/**
 * The terminal websocket protocol (twarga.terminal.v1), free of schema code so the browser can use it.
 *
 * Binary frames carry terminal bytes both ways: keystrokes from the client, output from the VM.
 * Text frames carry one JSON control message each. The client's first message must be `auth`
 * with a ticket from POST /api/terminal/start/{vm_id}; credentials never travel in the URL.
 */
export const TERMINAL_PROTOCOL = 'twarga.terminal.v1';
export const TERMINAL_WEBSOCKET_PATH = '/api/terminal/ws';

export const TERMINAL_KINDS = ['serial', 'ssh'] as const;
export type TerminalKind = (typeof TERMINAL_KINDS)[number];

export const TERMINAL_END_REASONS = [
  /** The client closed the websocket. */
  'closed',
  /** The remote shell exited (SSH). */
  'exited',
  'idle_timeout',
  'max_duration',
  /** Ended through DELETE /api/terminal/… by the session's or the VM's owner. */
  'ended_by_user',
  'ended_by_admin',
  /** The VM stopped or was destroyed. */
  'vm_stopped',
  /** The connection to the VM failed or broke. */
  'backend_error',
  /** The server stopped (or was found stopped at the next start). */
  'server_shutdown',
  /**
   * The user's right to it went: logout, a revoked session or token, a password change, a
   * disabled account, lost administrator rights, or the VM is no longer theirs.
   */
  'access_revoked',
] as const;
export type TerminalEndReason = (typeof TERMINAL_END_REASONS)[number];

/** Websocket close codes the server uses (4000–4999 are application codes). */
export const TERMINAL_CLOSE_CODES = {
  normal: 1000,
  badMessage: 4400,
  /** Missing, unknown, reused, expired or someone else's ticket. */
  unauthorized: 4401,
  forbiddenOrigin: 4403,
  idleTimeout: 4408,
  maxDuration: 4409,
  ended: 4410,
  vmStopped: 4411,
  /** The session ended because its login or its right to the VM went away (reason access_revoked). */
  accessRevoked: 4412,
  backendError: 4500,
} as const;

/** What each close code means, for a client to tell its user (lower case, no final period: callers phrase the sentence). */
export const TERMINAL_CLOSE_MEANINGS: Readonly<Record<number, string>> = {
  [TERMINAL_CLOSE_CODES.badMessage]: 'the server rejected a message from the client',
  [TERMINAL_CLOSE_CODES.unauthorized]: 'the server did not accept the terminal ticket',
  [TERMINAL_CLOSE_CODES.forbiddenOrigin]: 'the server refused the connection’s origin',
  [TERMINAL_CLOSE_CODES.idleTimeout]: 'the session was idle for too long',
  [TERMINAL_CLOSE_CODES.maxDuration]: 'the session reached its maximum duration',
  [TERMINAL_CLOSE_CODES.ended]: 'the session was ended',
  [TERMINAL_CLOSE_CODES.vmStopped]: 'the VM stopped',
  [TERMINAL_CLOSE_CODES.accessRevoked]: 'your access ended: you were signed out, the token was revoked, or you may no longer use this VM',
  [TERMINAL_CLOSE_CODES.backendError]: 'the connection to the VM failed',
  1001: 'the server is restarting',
};

export type TerminalClientMessage =
  | { type: 'auth'; ticket: string }
  | { type: 'resize'; cols: number; rows: number }
  | { type: 'ping'; id: number };

export type TerminalServerMessage =
  | {
      type: 'ready';
      session_id: number;
      vm_id: number;
      kind: TerminalKind;
      idle_timeout_seconds: number;
      max_duration_seconds: number;
      /** Serial only: how many bytes of the console log were replayed before live output. */
      scrollback_bytes: number;
    }
  | { type: 'pong'; id: number }
  /** The session is over; the server closes the socket right after. */
  | { type: 'exit'; reason: TerminalEndReason; exit_code: number | null; message: string }
  /** Refused before the session began (bad ticket, origin, VM not running…); the socket closes next. */
  | { type: 'error'; code: string; message: string };

/** A control message from the server (clients trust its shape); undefined when the text is not JSON. */
export function parseServerMessage(text: string): TerminalServerMessage | undefined {
  try {
    return JSON.parse(text) as TerminalServerMessage;
  } catch {
    return undefined;
  }
}

/** Parses a control message from the client; undefined for anything malformed. */
export function parseClientMessage(text: string): TerminalClientMessage | undefined {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof m !== 'object' || m === null) return undefined;
  const o = m as Record<string, unknown>;
  const int = (v: unknown, min: number, max: number) => Number.isInteger(v) && (v as number) >= min && (v as number) <= max;
  switch (o.type) {
    case 'auth':
      return typeof o.ticket === 'string' && o.ticket.length > 0 && o.ticket.length <= 200 ? { type: 'auth', ticket: o.ticket } : undefined;
    case 'resize':
      return int(o.cols, 10, 500) && int(o.rows, 4, 200) ? { type: 'resize', cols: o.cols as number, rows: o.rows as number } : undefined;
    case 'ping':
      return int(o.id, 0, Number.MAX_SAFE_INTEGER) ? { type: 'ping', id: o.id as number } : undefined;
    default:
      return undefined;
  }
}
