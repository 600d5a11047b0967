import type { AdminStatistics } from '@twarga/contract';
import type { Clock } from '../../../lib/time.js';
import type { StatisticsRepository } from './statistics.repository.js';
import type { SystemHealth } from './system-health.js';

/** The first instant of the clock's calendar month, UTC. */
export const monthStart = (now: Date) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString();

/** The admin dashboard's numbers and the system health together. */
export class AdminStatisticsService {
  constructor(
    private readonly repo: StatisticsRepository,
    private readonly health: SystemHealth,
    private readonly clock: Clock,
  ) {}

  async get(): Promise<AdminStatistics> {
    const now = this.clock.now();
    const [users, vms, credits, events, health] = await Promise.all([
      this.repo.users(),
      this.repo.vms(),
      this.repo.credits(monthStart(now)),
      this.repo.eventsBySeverity(new Date(now.getTime() - 24 * 3600_000).toISOString()),
      this.health.check(),
    ]);
    const { outstanding, ...userCounts } = users;
    return {
      users: userCounts,
      vms: { total: vms.total, by_status: vms.by_status, by_health: vms.by_health },
      credits: { outstanding, burn_rate_hourly: vms.burn_rate_hourly, charged_this_month: credits.charged, granted_this_month: credits.granted },
      events_24h: { info: events.info ?? 0, warning: events.warning ?? 0, critical: events.critical ?? 0 },
      health,
    };
  }
}
