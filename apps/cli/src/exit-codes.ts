import { ApiError } from '@twarga/contract';

/** The documented exit codes (`twarga --help` and the README list them). */
export const EXIT = {
  ok: 0,
  error: 1,
  usage: 2,
  notFound: 3,
  auth: 4,
  conflict: 5,
  actionErrored: 6,
  unreachable: 7,
  interrupted: 130,
} as const;

export const EXIT_CODES_HELP = `Exit codes:
  0    success
  1    generic error
  2    usage error (bad flags or arguments)
  3    not found (404)
  4    authentication or permission (401, 403)
  5    conflict, quota or credits (409, 402, quota_exceeded)
  6    the action ended "errored" (--wait)
  7    server unreachable
  130  interrupted (Ctrl-C)`;

/** An error the CLI raises itself; `code` is printed like a server error code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.error,
    readonly code?: string,
    readonly requestId?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

// Codes that mean "you may not have more" even when the status is 403 (quota) or 400.
const CONFLICT_CODES = new Set(['quota_exceeded', 'insufficient_credits', 'conflict', 'vm_locked', 'name_taken']);

/** Errors from fetch() when nothing answers (ECONNREFUSED, DNS, reset): the server is unreachable. */
export function isUnreachable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err instanceof ApiError) return false;
  const cause = (err as { cause?: { code?: string } }).cause;
  const code = cause?.code ?? (err as { code?: string }).code;
  if (code && /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|UND_ERR_CONNECT_TIMEOUT|UND_ERR_SOCKET)$/.test(code)) return true;
  return err.name === 'TypeError' && err.message === 'fetch failed';
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof CliError) return err.exitCode;
  if (err instanceof ApiError) {
    if (CONFLICT_CODES.has(err.code)) return EXIT.conflict;
    if (err.status === 404) return EXIT.notFound;
    if (err.status === 401 || err.status === 403) return EXIT.auth;
    if (err.status === 409 || err.status === 402) return EXIT.conflict;
    if (err.status === 400 || err.status === 422) return EXIT.usage;
    return EXIT.error;
  }
  if (isUnreachable(err)) return EXIT.unreachable;
  return EXIT.error;
}

/** `error: <message> (<code>, request <id>)`: the line printed on stderr. */
export function formatError(err: unknown): string {
  if (err instanceof ApiError) {
    const detail = [err.code, err.body.request_id ? `request ${err.body.request_id}` : ''].filter(Boolean).join(', ');
    return `error: ${err.message} (${detail})`;
  }
  if (err instanceof CliError) {
    const detail = [err.code, err.requestId ? `request ${err.requestId}` : ''].filter(Boolean).join(', ');
    return detail ? `error: ${err.message} (${detail})` : `error: ${err.message}`;
  }
  if (isUnreachable(err)) {
    const cause = (err as { cause?: { message?: string } }).cause;
    return `error: server unreachable: ${cause?.message ?? (err as Error).message} (unreachable)`;
  }
  return `error: ${err instanceof Error ? err.message : String(err)}`;
}
