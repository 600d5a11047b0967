import type { FastifyBaseLogger } from 'fastify';

/**
 * A background pass run every few seconds: never two at once, a failure is logged and the next
 * pass runs anyway, and the timer does not keep the process alive.
 */
export class Periodic {
  private timer?: NodeJS.Timeout;
  private busy = false;

  constructor(
    private readonly name: string,
    private readonly work: () => Promise<void>,
    private readonly log: FastifyBaseLogger,
  ) {}

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.run(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One pass now (skipped if one is already running). */
  async run(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await this.work();
    } catch (err) {
      this.log.error({ err }, `${this.name} pass failed`);
    } finally {
      this.busy = false;
    }
  }
}
