import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../lib/time.js';
import type { EventsRepository, NewEvent } from './events.repository.js';

/**
 * Records what really happened (auth, security, later VM lifecycle) for the SOC feed.
 * A failure to record is logged, never turned into a failed user request.
 */
export class EventsService {
  constructor(
    private readonly repo: EventsRepository,
    private readonly clock: Clock,
    private readonly log: FastifyBaseLogger,
  ) {}

  async record(event: NewEvent): Promise<void> {
    try {
      await this.repo.insert(event, this.clock.now().toISOString());
    } catch (err) {
      this.log.error({ err, event: event.action }, 'failed to record event');
    }
  }

  list = (...args: Parameters<EventsRepository['list']>) => this.repo.list(...args);
}
