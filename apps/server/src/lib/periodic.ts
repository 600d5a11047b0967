import type { FastifyBaseLogger } from 'fastify';
import type { Leadership } from './leadership.js';

/** How a background job is doing, for the admin's system health. */
export interface JobStatus {
  name: string;
  /** 0 until started (a job only run on demand, e.g. in tests). */
  intervalMs: number;
  running: boolean;
  lastRunAt: Date | null;
  lastDurationMs: number | null;
  /** The last pass's error message; null when it succeeded. */
  lastError: string | null;
  /** A cluster job that another server process runs (this one stands by to take over). */
  standby: boolean;
}

/**
 * A background pass run every few seconds: never two at once, a failure is logged and the next
 * pass runs anyway, and the timer does not keep the process alive. It remembers when it last
 * ran and how that went (JobStatus).
 */
/** How often a standby asks whether it leads now: a dead leader's jobs resume within about this. */
const LEADERSHIP_POLL_MS = 2_000;

export class Periodic {
  private timer?: NodeJS.Timeout;
  private lastStartedAt?: number;
  private busy = false;
  private intervalMs = 0;
  private lastRunAt: Date | null = null;
  private lastDurationMs: number | null = null;
  private lastError: string | null = null;
  private leadership?: Leadership;
  private standby = false;

  constructor(
    readonly name: string,
    private readonly work: () => Promise<void>,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** A job the cluster runs once: its timer runs a pass only while this process leads. */
  ledBy(leadership: Leadership): this {
    this.leadership = leadership;
    // Until a tick finds it leading: its first leading tick then runs a pass at once.
    this.standby = true;
    return this;
  }

  /**
   * Runs a pass every intervalMs. A cluster job checks its leadership more often than that (a
   * standby of a 60 s job would otherwise resume it up to a minute after the leader died) and
   * runs a pass as soon as it becomes the leader, then every intervalMs.
   */
  start(intervalMs: number): void {
    this.intervalMs = intervalMs;
    const tickMs = this.leadership ? Math.min(intervalMs, LEADERSHIP_POLL_MS) : intervalMs;
    this.timer = setInterval(() => void this.tick(tickMs), tickMs);
    this.timer.unref();
  }

  private async tick(tickMs: number): Promise<void> {
    if (!this.leadership) return this.run();
    const wasStandby = this.standby;
    this.standby = !(await this.leadership.lead());
    if (this.standby) return;
    const due = wasStandby || this.lastStartedAt === undefined || Date.now() - this.lastStartedAt >= this.intervalMs - tickMs / 2;
    if (due) await this.run();
  }

  /** One pass now if this process leads the job (or it has no leader): what each tick runs. */
  async runWhenLeading(): Promise<void> {
    if (this.leadership) {
      this.standby = !(await this.leadership.lead());
      if (this.standby) return;
    }
    await this.run();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  status(): JobStatus {
    return { name: this.name, intervalMs: this.intervalMs, running: this.timer !== undefined, lastRunAt: this.lastRunAt, lastDurationMs: this.lastDurationMs, lastError: this.lastError, standby: this.standby };
  }

  /** One pass now (skipped if one is already running). */
  async run(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    const started = Date.now();
    this.lastStartedAt = started;
    try {
      await this.work();
      this.lastError = null;
    } catch (err) {
      this.lastError = err instanceof Error ? err.message : String(err);
      this.log.error({ err }, `${this.name} pass failed`);
    } finally {
      this.busy = false;
      this.lastRunAt = new Date();
      this.lastDurationMs = Date.now() - started;
    }
  }
}
