import { EventEmitter } from 'node:events';

/**
 * Signals that something a request's identity depends on changed for a user (role, status,
 * password, credits, a revoked session or token). Repositories notify, after the change is
 * written; the identity cache listens, and so does LiveAccess (modules/auth/live-access.ts),
 * which re-checks live terminals, tickets and event streams of that user.
 */
export class UserChanges {
  private readonly emitter = new EventEmitter<{ changed: [number] }>();

  notify(userId: number): void {
    this.emitter.emit('changed', userId);
  }

  onChange(listener: (userId: number) => void): void {
    this.emitter.on('changed', listener);
  }
}
