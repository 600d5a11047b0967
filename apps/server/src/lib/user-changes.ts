import { EventEmitter } from 'node:events';

/**
 * Signals that something a request's identity depends on changed for a user (role, status,
 * password, credits, a revoked session or token). Repositories notify, after the change is
 * written; the identity cache listens, and so does LiveAccess (modules/auth/live-access.ts),
 * which re-checks live terminals, tickets and event streams of that user.
 */
export class UserChanges {
  private readonly emitter = new EventEmitter<{ changed: [number]; local: [number] }>();

  notify(userId: number): void {
    this.emitter.emit('local', userId);
    this.emitter.emit('changed', userId);
  }

  /** A change another server process made (the live relay brings it): every listener hears it; it is not relayed again. */
  notifyFromElsewhere(userId: number): void {
    this.emitter.emit('changed', userId);
  }

  /** Changes made in this process only: what the live relay sends to the other processes. Returns the unsubscribe. */
  onLocalChange(listener: (userId: number) => void): () => void {
    this.emitter.on('local', listener);
    return () => this.emitter.off('local', listener);
  }

  onChange(listener: (userId: number) => void): void {
    this.emitter.on('changed', listener);
  }
}
