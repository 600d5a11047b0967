import type { FastifyBaseLogger } from 'fastify';
import type { UserChanges } from '../../lib/user-changes.js';
import type { Clock } from '../../lib/time.js';
import type { Identity } from './identity.js';

/** Reads a credential again from the database (AuthService.reverify). */
export type Reverify = (credentialHash: string, via: Identity['via']) => Promise<{ identity: Identity; expiresAt: string | null } | undefined>;

/** What a live thing (terminal, ticket, event stream) was opened with. */
export interface AccessGrant {
  userId: number;
  credentialHash: string;
  via: Identity['via'];
}

/**
 * Whether the fresh identity may still use what was opened: undefined when it may, otherwise
 * the sentence to show (e.g. "your administrator rights were removed").
 */
export type RightCheck = (identity: Identity) => Promise<string | undefined> | string | undefined;

export interface Revocation {
  /** 'credential': logout, a revoked session or token, a password change, expiry, a disabled account. 'right': the user may no longer use it. */
  cause: 'credential' | 'right';
  message: string;
}

export const CREDENTIAL_GONE =
  'your login ended: you logged out, the session or API token was revoked or expired, the password was changed, or the account was disabled';

/** setTimeout's ceiling (about 24.8 days): a later expiry is re-armed at the next check. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Keeps live things honest after the request that opened them: each holds an AccessWatch,
 * which checks the credential and the right again whenever anything about its user changes
 * (UserChanges: role, status, password, sessions, tokens) and when the credential expires.
 */
export class LiveAccess {
  private readonly byUser = new Map<number, Set<AccessWatch>>();

  constructor(
    private readonly reverify: Reverify,
    changes: UserChanges,
    private readonly clock: Clock,
    private readonly log: FastifyBaseLogger,
  ) {
    changes.onChange((userId) => {
      for (const w of this.byUser.get(userId) ?? []) void w.check();
    });
  }

  /** Starts watching; nothing is checked until check() or the user's next change. */
  watch(grant: AccessGrant, right: RightCheck): AccessWatch {
    const set = this.byUser.get(grant.userId) ?? new Set();
    this.byUser.set(grant.userId, set);
    const w: AccessWatch = new AccessWatch(grant, right, {
      reverify: this.reverify,
      clock: this.clock,
      log: this.log,
      release: () => {
        set.delete(w);
        if (!set.size && this.byUser.get(grant.userId) === set) this.byUser.delete(grant.userId);
      },
    });
    set.add(w);
    return w;
  }

  /** How many watches are live (for tests and leak checks). */
  get size(): number {
    let n = 0;
    for (const s of this.byUser.values()) n += s.size;
    return n;
  }
}

interface WatchDeps {
  reverify: Reverify;
  clock: Clock;
  log: FastifyBaseLogger;
  release: () => void;
}

export class AccessWatch {
  /** Set once access is gone; it never comes back. */
  revoked?: Revocation;
  private running?: Promise<boolean>;
  private again = false;
  private stopped = false;
  private expiryTimer?: NodeJS.Timeout;
  private readonly revokedListeners: ((r: Revocation) => void)[] = [];
  private readonly passedListeners: (() => void)[] = [];

  constructor(
    readonly grant: AccessGrant,
    private readonly right: RightCheck,
    private readonly d: WatchDeps,
  ) {}

  /** True while a check is under way (a stream holds back events until it passes). */
  get checking(): boolean {
    return this.running !== undefined;
  }

  /**
   * Checks now, from the database; resolves true if access still holds. Checks asked for while
   * one runs are folded into one more run after it, so the last change is always seen.
   */
  check(): Promise<boolean> {
    if (this.revoked || this.stopped) return Promise.resolve(!this.revoked);
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        const gone = await this.evaluate();
        if (gone) this.revoke(gone);
      } while (this.again && !this.revoked && !this.stopped);
      this.running = undefined;
      if (!this.revoked) for (const f of this.passedListeners) f();
      return !this.revoked;
    })();
    return this.running;
  }

  /** Called once when access goes (at once if it already went). */
  onRevoked(listener: (r: Revocation) => void): void {
    if (this.revoked) listener(this.revoked);
    else this.revokedListeners.push(listener);
  }

  /** Called after every check that found access still holding. */
  onPassed(listener: () => void): void {
    this.passedListeners.push(listener);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.expiryTimer);
    this.d.release();
  }

  private async evaluate(): Promise<Revocation | undefined> {
    try {
      const fresh = await this.d.reverify(this.grant.credentialHash, this.grant.via);
      if (!fresh || fresh.identity.user.id !== this.grant.userId) return { cause: 'credential', message: CREDENTIAL_GONE };
      this.armExpiry(fresh.expiresAt);
      const why = await this.right(fresh.identity);
      return why === undefined ? undefined : { cause: 'right', message: why };
    } catch (err) {
      // Fail closed: a live session must not outlast a right we could not confirm.
      this.d.log.error({ err }, 'could not re-check a live session’s access');
      return { cause: 'credential', message: 'the server could not confirm your access' };
    }
  }

  private armExpiry(expiresAt: string | null): void {
    clearTimeout(this.expiryTimer);
    if (!expiresAt || this.stopped) return;
    const ms = Math.max(0, Date.parse(expiresAt) - this.d.clock.now().getTime());
    this.expiryTimer = setTimeout(() => void this.check(), Math.min(ms + 10, MAX_TIMER_MS));
    this.expiryTimer.unref();
  }

  private revoke(r: Revocation): void {
    if (this.revoked) return;
    this.revoked = r;
    clearTimeout(this.expiryTimer);
    for (const f of this.revokedListeners.splice(0)) f(r);
    this.stop();
  }
}
