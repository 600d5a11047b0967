import type { FastifyBaseLogger } from 'fastify';
import { Periodic } from '../lib/periodic.js';
import type { ActionsRepository } from './actions.repository.js';

/**
 * Renews the leases of the actions this process really runs, every third of a lease: while it
 * works on them no other process takes them over; once it dies (or an action of its ended without
 * recording its outcome), they are free within one lease.
 * Runs in every process (not a cluster job): each vouches for its own actions.
 */
export class ActionLeases {
  readonly job: Periodic;

  constructor(
    private readonly d: { actions: ActionsRepository; running: () => number[]; log: FastifyBaseLogger; leaseMs: number },
  ) {
    this.job = new Periodic('action-leases', () => this.renew(), d.log);
  }

  start(): void {
    this.job.start(Math.max(500, Math.floor(this.d.leaseMs / 3)));
  }

  stop(): void {
    this.job.stop();
  }

  private async renew(): Promise<void> {
    await this.d.actions.renewLeases(this.d.running());
  }
}
