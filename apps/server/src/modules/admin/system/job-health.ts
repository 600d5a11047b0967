import type { HealthComponent } from '@twarga/contract';
import type { JobStatus } from '../../../lib/periodic.js';

/** A job whose last pass is older than this many intervals is stale (degraded)... */
export const STALE_INTERVALS = 3;
/** ...and this many, or one that never ran in this many since the server started, is failed (stuck or dead). */
export const DEAD_INTERVALS = 10;
/** Short intervals get at least this much slack (a pass may take a few seconds on a busy host). */
const MIN_SLACK_MS = 30_000;

/**
 * How a background job is doing:
 * - not running (never started, or stopped): degraded; nothing is done on schedule.
 * - running, never ran: healthy for its first DEAD_INTERVALS (it runs on its timer), failed after.
 * - last pass older than STALE_INTERVALS intervals: degraded (stale); older than DEAD_INTERVALS: failed.
 * - last pass failed: degraded, with its error (the next pass runs anyway).
 */
export function judgeJob(s: JobStatus, now: Date, startedAt: Date): HealthComponent {
  const base = {
    name: `job:${s.name.replace(/\s+/g, '_')}`,
    kind: 'job' as const,
    last_run_at: s.lastRunAt?.toISOString() ?? null,
    interval_seconds: s.intervalMs / 1000,
    facts: { job: s.name, running: s.running, standby: s.standby, last_duration_ms: s.lastDurationMs, last_error: s.lastError },
  };
  if (s.running && s.standby) return { ...base, status: 'healthy', detail: `${s.name}: another server process runs it; this one stands by to take over` };
  if (!s.running || s.intervalMs <= 0) {
    return { ...base, status: 'degraded', detail: `${s.name} is not running on a schedule${s.lastRunAt ? ` (last pass ${s.lastRunAt.toISOString()})` : ''}` };
  }
  const stale = Math.max(STALE_INTERVALS * s.intervalMs, MIN_SLACK_MS);
  const dead = Math.max(DEAD_INTERVALS * s.intervalMs, 2 * MIN_SLACK_MS);
  const every = `every ${Math.round(s.intervalMs / 1000)} s`;
  if (!s.lastRunAt) {
    const waited = now.getTime() - startedAt.getTime();
    return waited > dead
      ? { ...base, status: 'failed', detail: `${s.name} has not finished a pass in ${Math.round(waited / 1000)} s (it should run ${every})` }
      : { ...base, status: 'healthy', detail: `${s.name} runs ${every}; its first pass is pending` };
  }
  const age = now.getTime() - s.lastRunAt.getTime();
  const ago = `${Math.round(age / 1000)} s ago`;
  if (age > dead) return { ...base, status: 'failed', detail: `${s.name} last finished a pass ${ago} (it should run ${every}): stuck or dead` };
  if (age > stale) return { ...base, status: 'degraded', detail: `${s.name} is late: last pass ${ago} (it should run ${every})` };
  if (s.lastError) return { ...base, status: 'degraded', detail: `${s.name}'s last pass failed: ${s.lastError.slice(0, 300)}` };
  return { ...base, status: 'healthy', detail: `${s.name} ran ${ago} (${every}, took ${s.lastDurationMs ?? 0} ms)` };
}
