import os from 'node:os';
import type { FastifyBaseLogger } from 'fastify';
import type { Leadership } from '../lib/leadership.js';
import { Periodic } from '../lib/periodic.js';
import type { ActionsRepository } from '../operations/actions.repository.js';
import type { ServerProcessesRepository } from './server-processes.repository.js';

/** A dead process's row is kept this long for the admin to see (degraded), then forgotten. */
const FORGET_AFTER_MS = 3_600_000;

/**
 * This server process's presence on the database, every third of an action lease: it vouches
 * again for the actions it really runs (so no other process takes them over while it works on
 * them; once it dies they are free within one lease), and it marks itself seen in
 * server_processes for the admin's health page. Runs in every process (not a cluster job).
 */
export class Presence {
  readonly job: Periodic;
  private readonly startedAt = new Date().toISOString();

  constructor(
    private readonly d: {
      id: string;
      version: string;
      actions: ActionsRepository;
      /** The actions this process works on now. */
      running: () => number[];
      processes: ServerProcessesRepository;
      leadership: Leadership;
      log: FastifyBaseLogger;
      leaseMs: number;
      /** The only server process on its database (SQLite): rows of earlier runs are all dead. */
      soleProcess: boolean;
    },
  ) {
    this.job = new Periodic('presence', () => this.beat(), d.log);
  }

  /** How long after its last beat a process counts as gone (two missed beats and a margin). */
  get staleAfterMs(): number {
    return this.d.leaseMs;
  }

  /** Ids of the processes alive now (this one first): each beat within the last lease. */
  async aliveIds(): Promise<string[]> {
    if (this.d.soleProcess) return [this.d.id];
    const now = Date.now();
    const others = (await this.d.processes.list()).filter((p) => p.id !== this.d.id && now - Date.parse(p.last_seen_at) <= this.staleAfterMs);
    return [this.d.id, ...others.map((p) => p.id)];
  }

  start(): void {
    this.job.start(Math.max(500, Math.floor(this.d.leaseMs / 3)));
    void this.job.run();
  }

  /** Stops beating and leaves the list (a clean stop; a killed process's row goes stale). */
  async stop(): Promise<void> {
    this.job.stop();
    await this.d.processes.remove(this.d.id).catch((err: unknown) => this.d.log.warn({ err }, 'could not remove this process from server_processes'));
  }

  private async beat(): Promise<void> {
    const { actions, processes, leadership, id, version } = this.d;
    // Leases first: they are what keeps this process's actions its own.
    await actions.renewLeases(this.d.running());
    const now = new Date();
    await processes.beat({ id, hostname: os.hostname(), pid: process.pid, version, started_at: this.startedAt }, await leadership.lead(), now.toISOString());
    await processes.removeUnseenSince(new Date(now.getTime() - FORGET_AFTER_MS).toISOString());
  }
}
