import type { FastifyBaseLogger } from 'fastify';
import type { Action } from '@twarga/contract';
import { publicMessage } from '../lib/public-message.js';
import type { Clock } from '../lib/time.js';
import type { ActionsRepository } from './actions.repository.js';
import type { LiveBus } from './live-bus.js';

/** Lines kept per action: a Vagrant boot prints a few dozen; a runaway command must not fill the database. */
const MAX_LINES = 500;

/**
 * The log of the action running on an instance: the steps the VM operations take and what a
 * driver prints while it works (e.g. `vagrant up`). Each line is stored, then pushed to the
 * owner's live channel. Drivers know instance ids; the VM operations say which action is on.
 */
export class ActionProgress {
  private readonly current = new Map<string, { action: Pick<Action, 'id' | 'vm_id' | 'user_id'>; lines: number; written: Promise<void> }>();

  constructor(
    private readonly d: { actions: ActionsRepository; bus: LiveBus; clock: Clock; log: FastifyBaseLogger },
  ) {}

  begin(instanceId: string, action: Pick<Action, 'id' | 'vm_id' | 'user_id'>): void {
    this.current.set(instanceId, { action, lines: 0, written: Promise.resolve() });
  }

  /** Ends the action's log once every line has been written (its last line is never lost). */
  async end(instanceId: string): Promise<void> {
    const on = this.current.get(instanceId);
    this.current.delete(instanceId);
    await on?.written;
  }

  line(instanceId: string, text: string): void {
    const on = this.current.get(instanceId);
    if (!on || on.lines >= MAX_LINES) return;
    on.lines++;
    // The owner reads this log: a driver's output loses the server's paths (the server log keeps them).
    const line = { at: this.d.clock.now().toISOString(), line: publicMessage(text).slice(0, 1000) };
    const { action } = on;
    // Written in order, one after the other, so the stored log reads as it was printed.
    on.written = on.written
      .then(() => this.d.actions.appendLog(action.id, line.at, line.line))
      .then(() => this.d.bus.publish(action.user_id, { kind: 'action_log', vm_id: action.vm_id, action_id: action.id, line }))
      .catch((err: Error) => this.d.log.warn({ err: err.message }, 'action log line lost'));
  }
}
