/** Plain values shared by server and UI, free of schema code so the browser bundle stays small. */

/** Hostname-safe usernames: they become parts of VM names and paths later. */
export const USERNAME_PATTERN = '^[a-z][a-z0-9_-]{2,31}$';
export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 256;

/** Cookie and header names of the browser session. */
export const SESSION_COOKIE = 'twarga_session';
export const CSRF_COOKIE = 'twarga_csrf';
export const CSRF_HEADER = 'x-csrf-token';

/** VM names follow hostname rules (they become the guest's hostname). */
export const VM_NAME_PATTERN = '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$';
/** A snapshot's name: letters, digits, and . _ - inside. */
export const SNAPSHOT_NAME_PATTERN = '^[A-Za-z0-9]([A-Za-z0-9._-]{0,62}[A-Za-z0-9])?$';
export const USER_DATA_MAX_BYTES = 64 * 1024;
