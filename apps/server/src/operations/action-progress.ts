import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../lib/time.js';
import type { ActionsRepository } from './actions.repository.js';

/** Lines kept per action: a Vagrant boot prints a few dozen; a runaway command must not fill the database. */
const MAX_LINES = 500;

/**
 * Routes what a driver prints while it works (e.g. `vagrant up`) to the log of the action
 * running on that instance. Drivers know instance ids; the VM operations say which action is on.
 */
export class ActionProgress {
  private readonly current = new Map<string, { actionId: number; lines: number }>();

  constructor(
    private readonly actions: ActionsRepository,
    private readonly clock: Clock,
    private readonly log: FastifyBaseLogger,
  ) {}

  begin(instanceId: string, actionId: number): void {
    this.current.set(instanceId, { actionId, lines: 0 });
  }

  end(instanceId: string): void {
    this.current.delete(instanceId);
  }

  line(instanceId: string, text: string): void {
    const on = this.current.get(instanceId);
    if (!on || on.lines >= MAX_LINES) return;
    on.lines++;
    this.actions.appendLog(on.actionId, this.clock.now().toISOString(), text).catch((err: Error) => this.log.warn({ err: err.message }, 'action log line lost'));
  }
}
