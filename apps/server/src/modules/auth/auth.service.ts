import type { RegisterRequest, User } from '@twarga/contract';
import type { Db } from '../../db/database.js';
import { AppError, badRequest, conflict, forbidden } from '../../http/errors.js';
import { hashToken, newToken, randomPassword } from '../../lib/secrets.js';
import type { Clock } from '../../lib/time.js';
import { ConfigError } from '../../config/config.js';
import type { LedgerService } from '../billing/ledger.service.js';
import type { IdentityCache } from './identity-cache.js';
import type { EventLog } from '../events/event-log.js';
import type { TokensRepository } from '../tokens/tokens.repository.js';
import { toUser, type UsersRepository } from '../users/users.repository.js';
import type { Identity, RequestContext } from './identity.js';
import { LoginLockout } from './lockout.js';
import type { LoginFailuresRepository } from './login-failures.repository.js';
import { burnVerifyTime, hashPassword, passwordProblem, verifyPassword } from './passwords.js';
import type { SessionsRepository } from './sessions.repository.js';

export interface AuthPolicy {
  sessionTtlHours: number;
  lockoutThreshold: number;
  lockoutMinutes: number;
  signupCredits: number;
  allowRegistration: boolean;
}

/** Touch last-used times at most this often, so reads stay reads under load. */
const TOUCH_INTERVAL_MS = 60_000;

export class AuthService {
  constructor(
    private readonly deps: {
      db: Db;
      ledger: LedgerService;
      cache: IdentityCache;
      users: UsersRepository;
      sessions: SessionsRepository;
      tokens: TokensRepository;
      events: EventLog;
      clock: Clock;
      policy: AuthPolicy;
      loginFailures: LoginFailuresRepository;
    },
  ) {
    this.lockout = new LoginLockout(deps.loginFailures, { threshold: deps.policy.lockoutThreshold, minutes: deps.policy.lockoutMinutes });
  }

  private readonly lockout: LoginLockout;

  private now() {
    return this.deps.clock.now();
  }

  async register(input: RegisterRequest, ctx: RequestContext): Promise<User> {
    const { db, users, events, policy } = this.deps;
    if (!policy.allowRegistration) {
      await events.record({ type: 'security', severity: 'warning', action: 'register.denied', message: 'Registration attempt while registration is closed', sourceIp: ctx.ip, details: { username: input.username } });
      throw forbidden('Registration is closed on this instance');
    }
    const username = input.username.toLowerCase();
    const email = input.email.trim().toLowerCase();
    const weak = await passwordProblem(input.password, { username, email });
    if (weak) throw badRequest(`Password ${weak}`, [{ field: 'password', message: weak }]);
    const taken = await users.findConflicts(username, email);
    if (taken.username || taken.email) throw duplicateUser(taken);

    const hashedPassword = await hashPassword(input.password);
    const now = this.now().toISOString();
    let id: number;
    try {
      id = await db.transaction().execute(async (trx) => {
        const newId = await users.insert(trx, { username, email, hashedPassword, isAdmin: false, now });
        if (policy.signupCredits > 0) {
          await this.deps.ledger.apply({ userId: newId, amount: policy.signupCredits, reason: 'Sign-up credit', actorId: null, now }, { trx });
        }
        return newId;
      });
    } catch (err) {
      // Two registrations raced past the check above: the unique index decides.
      if (isUniqueViolation(err)) throw duplicateUser(await users.findConflicts(username, email));
      throw err;
    }
    await events.record({ type: 'auth', action: 'user.registered', message: `User ${username} registered`, userId: id, username, sourceIp: ctx.ip });
    return toUser((await users.findById(id))!);
  }

  async login(login: string, password: string, ctx: RequestContext) {
    const { users, sessions, events, policy } = this.deps;
    const now = this.now();
    const user = await users.findByLogin(login);
    const key = LoginLockout.accountKey(user?.id, login);
    const shownLogin = login.slice(0, 64);
    const who = user ? { userId: user.id, username: user.username, sourceIp: ctx.ip } : { sourceIp: ctx.ip };
    const lockedUntil = await this.lockout.lockedUntil(key, ctx.ip, now);
    if (lockedUntil) {
      await events.record({ ...who, type: 'security', severity: 'warning', action: 'login.blocked', message: `Login attempt on "${user?.username ?? shownLogin}" from a locked-out address`, details: { login: shownLogin, known: !!user } });
      throw accountLocked(lockedUntil, now);
    }
    // An unknown name costs one password verification too, so timing does not tell them apart.
    const verified = user ? await verifyPassword(user.hashed_password, password) : (await burnVerifyTime(password), false);
    if (!user || !verified) {
      const { failures, lockedUntil: until } = await this.lockout.failed(key, ctx.ip, now);
      const reason = user ? 'wrong_password' : 'unknown_user';
      if (until) {
        await events.record({ ...who, type: 'security', severity: 'warning', action: 'account.locked', message: `Login "${user?.username ?? shownLogin}" locked for ${ctx.ip} after ${failures} failed attempts`, details: { failures, reason, login: shownLogin, locked_until: until.toISOString() } });
        throw accountLocked(until, now);
      }
      const message = user ? `Failed login for ${user.username}` : `Failed login for unknown user "${shownLogin}"`;
      await events.record({ ...who, type: 'auth', severity: 'warning', action: 'login.failed', message, details: { reason, failures, login: shownLogin } });
      throw invalidCredentials();
    }
    if (user.is_active !== 1) {
      await events.record({ ...who, type: 'security', severity: 'warning', action: 'login.denied', message: `Login refused: account ${user.username} is disabled` });
      throw forbidden('This account is disabled');
    }
    await this.lockout.succeeded(key, ctx.ip);
    const token = newToken('tws');
    const expiresAt = new Date(now.getTime() + policy.sessionTtlHours * 3_600_000).toISOString();
    const sessionId = await sessions.insert({ userId: user.id, tokenHash: hashToken(token), now: now.toISOString(), expiresAt, sourceIp: ctx.ip, userAgent: ctx.userAgent ?? null });
    await this.deps.users.noteLogin(user.id, now.toISOString());
    await events.record({ ...who, type: 'auth', action: 'login.succeeded', message: `${user.username} logged in`, details: { session_id: sessionId, admin: user.is_admin === 1 } });
    return { token, expiresAt, sessionId, user: toUser(user) };
  }

  async logout(identity: Identity, ctx: RequestContext): Promise<void> {
    const now = this.now().toISOString();
    if (identity.sessionId !== undefined) await this.deps.sessions.revoke(identity.sessionId, now);
    if (identity.tokenId !== undefined) await this.deps.tokens.revoke(identity.user.id, identity.tokenId, now);
    await this.deps.events.record({ type: 'auth', action: 'logout', message: `${identity.user.username} logged out`, userId: identity.user.id, username: identity.user.username, sourceIp: ctx.ip, details: { via: identity.via } });
  }

  async changePassword(identity: Identity, current: string, next: string, ctx: RequestContext): Promise<void> {
    const { users, sessions, events } = this.deps;
    const row = await users.findById(identity.user.id);
    if (!row || !(await verifyPassword(row.hashed_password, current))) {
      await events.record({ type: 'security', severity: 'warning', action: 'password.change_failed', message: `Wrong current password for ${identity.user.username}`, userId: identity.user.id, username: identity.user.username, sourceIp: ctx.ip });
      throw new AppError(400, 'invalid_credentials', 'Current password is wrong', [{ field: 'current_password', message: 'is wrong' }]);
    }
    const weak = await passwordProblem(next, { username: row.username, email: row.email });
    if (weak) throw badRequest(`Password ${weak}`, [{ field: 'new_password', message: weak }]);
    const now = this.now().toISOString();
    await users.update(row.id, { hashed_password: await hashPassword(next) }, now);
    // Every other session ends: a stolen session must not outlive a password change.
    await sessions.revokeAllForUser(row.id, now, identity.sessionId);
    await events.record({ type: 'auth', action: 'password.changed', message: `${row.username} changed their password`, userId: row.id, username: row.username, sourceIp: ctx.ip });
  }

  /** The identity for a credential seen in the last few seconds, without I/O; undefined on a miss. */
  cachedIdentity(token: string, fromCookie: boolean): Identity | undefined {
    const cached = this.deps.cache.get(hashToken(token), this.now().getTime());
    return cached && (!fromCookie || cached.via === 'session') ? { ...cached, fromCookie } : undefined;
  }

  /**
   * Resolves a bearer credential (session or API token) to an identity from the database, and
   * remembers it; undefined if not valid. Callers ask cachedIdentity() first.
   */
  async authenticate(token: string, fromCookie: boolean): Promise<Identity | undefined> {
    if (fromCookie && !token.startsWith('tws_')) return undefined; // only sessions live in cookies
    const now = this.now();
    const credentialHash = hashToken(token);
    const found = await this.lookup(token, credentialHash, now);
    if (!found) return undefined;
    this.deps.cache.set(credentialHash, found.identity, found.expiresAt, now.getTime());
    return { ...found.identity, fromCookie };
  }

  /**
   * Checks again, from the database, that a credential (by its hash) is still live and its user
   * active; undefined once it is not. For terminals and event streams, which outlive the
   * request that opened them (see LiveAccess: they re-check whenever their user changes).
   */
  async reverify(credentialHash: string, via: Identity['via']): Promise<{ identity: Identity; expiresAt: string | null } | undefined> {
    // lookup() tells sessions from API tokens by the token's prefix alone.
    const found = await this.lookup(via === 'session' ? 'tws_' : 'twp_', credentialHash, this.now());
    return found && { identity: { ...found.identity, fromCookie: false }, expiresAt: found.expiresAt };
  }

  private async lookup(token: string, credentialHash: string, now: Date) {
    const { users, sessions, tokens } = this.deps;
    const nowIso = now.toISOString();
    if (token.startsWith('tws_')) {
      const s = await sessions.findLive(credentialHash, nowIso);
      if (!s) return undefined;
      const user = await users.findById(s.user_id);
      if (!user || user.is_active !== 1) return undefined;
      if (now.getTime() - Date.parse(s.last_seen_at) > TOUCH_INTERVAL_MS) await sessions.touch(s.id, nowIso);
      return { expiresAt: s.expires_at, identity: { user: toUser(user), via: 'session' as const, sessionId: s.id, scope: 'read-write' as const, credentialHash } };
    }
    if (token.startsWith('twp_')) {
      const t = await tokens.findLive(credentialHash, nowIso);
      if (!t) return undefined;
      const user = await users.findById(t.user_id);
      if (!user || user.is_active !== 1) return undefined;
      if (!t.last_used_at || now.getTime() - Date.parse(t.last_used_at) > TOUCH_INTERVAL_MS) await tokens.touch(t.id, nowIso);
      return { expiresAt: t.expires_at, identity: { user: toUser(user), via: 'api_token' as const, tokenId: t.id, scope: t.scope, credentialHash } };
    }
    return undefined;
  }

  /**
   * Creates the first admin if there is none. Returns the password only when it generated one,
   * so the caller prints it exactly once.
   */
  async ensureAdmin(opts: { username: string; email: string; password?: string }): Promise<{ created: boolean; generatedPassword?: string }> {
    const { db, users, events } = this.deps;
    if ((await users.countAdmins()) > 0) return { created: false };
    if (opts.password !== undefined) {
      // The operator chose it: the same estimator as for everyone (a chosen username inside it is fine).
      const weak = await passwordProblem(opts.password, opts, { forbidUsername: false });
      if (weak) throw new ConfigError(`TWARGA_ADMIN_PASSWORD ${weak}\n  Choose a longer one, e.g. a few random words, or leave it unset to get a generated password.`);
    }
    const password = opts.password ?? randomPassword();
    const now = this.now().toISOString();
    const hashedPassword = await hashPassword(password);
    const id = await db.transaction().execute(async (trx) => {
      const newId = await users.insert(trx, { username: opts.username, email: opts.email.toLowerCase(), hashedPassword, isAdmin: true, now });
      await this.deps.ledger.apply({ userId: newId, amount: 10_000, reason: 'Initial admin credit', actorId: null, now }, { trx });
      return newId;
    });
    await events.record({ type: 'system', action: 'admin.bootstrapped', message: `Admin account ${opts.username} created on first start`, userId: id, username: opts.username });
    return { created: true, generatedPassword: opts.password ? undefined : password };
  }
}

function invalidCredentials() {
  return new AppError(401, 'invalid_credentials', 'Wrong username or password');
}

/** The same for a real account and an unknown name: the lock is on the pair (name, address). */
function accountLocked(until: Date, now: Date) {
  const seconds = Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000));
  return new AppError(429, 'account_locked', `Too many failed logins for this account from your address: locked until ${until.toISOString()}`, undefined, { 'retry-after': String(seconds) });
}

function duplicateUser(taken: { username: boolean; email: boolean }) {
  const details = [
    ...(taken.username ? [{ field: 'username', message: 'is already taken' }] : []),
    ...(taken.email ? [{ field: 'email', message: 'is already registered' }] : []),
  ];
  return conflict(`${details.map((d) => `${d.field} ${d.message}`).join(', ')}`, details);
}

export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string };
  return e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === '23505';
}
