import type { TokenScope, User } from '@twarga/contract';

/** Who is making a request, and how they proved it. */
export interface Identity {
  user: User;
  via: 'session' | 'api_token';
  /** Set when the credential came from the session cookie: writes then need the CSRF token. */
  fromCookie: boolean;
  sessionId?: number;
  tokenId?: number;
  /** Sessions can do everything the user can; API tokens may be read-only. */
  scope: TokenScope;
  /** sha256 of the credential; the CSRF token is derived from it. */
  credentialHash: string;
}

/** Request facts the services record in events. */
export interface RequestContext {
  ip: string;
  userAgent?: string;
}
