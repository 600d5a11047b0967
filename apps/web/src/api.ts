import { ApiClient, ApiError, CSRF_COOKIE } from '@twarga/contract/browser';

/** Reads one cookie by name (the CSRF cookie is deliberately readable by JS). */
export function readCookie(name: string): string | undefined {
  for (const part of document.cookie.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

/** Same-origin client: the session is an httpOnly cookie, writes carry the CSRF header. */
export const client = new ApiClient({ baseUrl: '', csrfToken: () => readCookie(CSRF_COOKIE) });

export { ApiError };

export const isApiError = (err: unknown): err is ApiError => err instanceof ApiError;

/** "Too many requests: try again in 46 s" → "Try again in 46 s." */
export function retryHint(message: string): string {
  const rest = message.replace(/^Too many requests:\s*/, '').replace(/\.?$/, '.');
  return rest.charAt(0).toUpperCase() + rest.slice(1);
}

/** A sentence for an alert: the server's message, or a friendly fallback for network failures. */
export function errorMessage(err: unknown): string {
  if (isApiError(err)) {
    if (err.code === 'csrf_failed') return 'Your session token is out of date. Reload the page and try again.';
    if (err.code === 'rate_limited') return `Too many attempts from your address. ${retryHint(err.message)}`;
    // Out of storage (507) says what to do itself; it is no crash to retry blindly.
    if (err.code === 'insufficient_storage') return err.message;
    if (err.status >= 500) return `The server had a problem (${err.message}). Please try again.`;
    return err.message;
  }
  if (err instanceof TypeError) return 'Cannot reach the Twarga Cloud server. Check your connection and try again.';
  return err instanceof Error ? err.message : 'Something went wrong.';
}

/** "Public key" + "is not valid" → "Public key is not valid"; other messages get a colon. */
function phrase(label: string, message: string): string {
  return /^(is|are|must|looks|cannot|can't|should|has|was|does)\b/i.test(message) ? `${label} ${message}` : `${label}: ${message}`;
}

/**
 * Field errors from a validation (or conflict) body, keyed by field name, each phrased with the
 * field's label: {public_key: 'Public key is not a valid OpenSSH public key'}.
 */
export function fieldErrors(err: unknown, labels: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isApiError(err)) return out;
  for (const d of err.body.details ?? []) {
    const label = labels[d.field];
    if (label && !out[d.field]) out[d.field] = phrase(label, d.message);
  }
  return out;
}

/** True when every detail of the error was shown next to a field (no need for a general alert). */
export function allDetailsMapped(err: unknown, labels: Record<string, string>): boolean {
  if (!isApiError(err)) return false;
  const details = err.body.details ?? [];
  return details.length > 0 && details.every((d) => d.field in labels);
}

/** Query keys in one place so mutations invalidate exactly what they change. */
export const keys = {
  me: ['me'] as const,
  ledger: ['account', 'ledger'] as const,
  sshKeys: ['account', 'ssh-keys'] as const,
  tokens: ['account', 'tokens'] as const,
  adminUsers: ['admin', 'users'] as const,
  adminHosts: ['admin', 'hosts'] as const,
  vms: ['vms'] as const,
  vm: (id: number) => ['vm', id] as const,
  vmActions: (id: number) => ['vm-actions', id] as const,
  actionLog: (actionId: number) => ['action-log', actionId] as const,
  /** All of the user's snapshots; vmSnapshots sits under it, so invalidating `snapshots` reloads both. */
  snapshots: ['snapshots'] as const,
  vmSnapshots: (id: number) => ['snapshots', 'vm', id] as const,
  images: ['images'] as const,
  sizes: ['sizes'] as const,
  vmTerminals: (id: number) => ['terminal-sessions', id] as const,
  liveTerminals: ['terminal-sessions', 'live'] as const,
  /** Latest samples (kept fresh by pushed {kind:'metrics'} events). */
  hostMetrics: ['metrics', 'host'] as const,
  vmMetrics: (id: number) => ['metrics', 'vm', id] as const,
  /** A history; pushed samples are appended to the 1h ones. `metrics` is the comma-joined names. */
  metricsHistory: (entity: 'host' | 'vm', id: number, range: string, metrics: string) => ['metrics-history', entity, id, range, metrics] as const,
  /** Alert lists by state ('open' | 'resolved' | 'all') and VM (null: every one); pushed {kind:'alert'} events update them. */
  alerts: (state: string, vmId: number | null) => ['alerts', state, vmId] as const,
  alertPolicies: ['alert-policies'] as const,
  channels: ['notification-channels'] as const,
  deliveries: (channelId: number | null) => ['notification-deliveries', channelId] as const,
};
