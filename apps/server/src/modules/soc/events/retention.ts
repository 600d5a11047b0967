import type { FastifyBaseLogger } from 'fastify';
import { Periodic } from '../../../lib/periodic.js';
import type { Clock } from '../../../lib/time.js';
import type { SocEventsRepository } from './soc-events.repository.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const BATCH = 5_000;

/**
 * Deletes events older than eventRetentionDays (0: keep forever), hourly, in batches of BATCH
 * rows: each batch is a short transaction, so recording goes on while a large backlog goes (the
 * FTS index follows through its delete trigger). Events are never deleted with a user or a VM.
 */
export class EventRetention {
  private readonly periodic: Periodic;

  constructor(
    private readonly repo: SocEventsRepository,
    private readonly clock: Clock,
    private readonly retentionDays: number,
    log: FastifyBaseLogger,
  ) {
    this.periodic = new Periodic('event retention', async () => void (await this.pass()), log);
  }

  start(): void {
    if (this.retentionDays <= 0) return;
    this.periodic.start(HOUR_MS);
    void this.periodic.run();
  }

  stop(): void {
    this.periodic.stop();
  }

  /** One pass now; returns how many events it deleted. */
  async pass(): Promise<number> {
    if (this.retentionDays <= 0) return 0;
    const cutoff = new Date(this.clock.now().getTime() - this.retentionDays * DAY_MS).toISOString();
    let deleted = 0;
    for (;;) {
      const n = await this.repo.deleteOlderThan(cutoff, BATCH);
      deleted += n;
      if (n < BATCH) return deleted;
      // Let requests and event writes in between batches.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}
