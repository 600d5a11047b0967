import type { Health, HealthCheck } from '@twarga/contract';
import type { FastifyBaseLogger } from 'fastify';
import type { DatabaseHandle, WriteProbeFailure } from '../../db/database.js';
import { freeBytes, MiB, type StorageAlarm } from '../../lib/disk-space.js';

export interface HealthOptions {
  database: DatabaseHandle;
  version: string;
  /** The data dir: VM disks, images, recordings and (SQLite) the database live there. */
  dataDir: string;
  minFreeDiskMb: number;
  /** Requests that failed for lack of storage (noted by the error handler). */
  storageAlarm?: StorageAlarm;
  log: FastifyBaseLogger;
}

/** After a request failed for lack of storage, writes count as degraded this long even when the probe works. */
const STORAGE_ALARM_MS = 5 * 60_000;

/** Below this the data dir's filesystem counts as full: every write there is about to fail. */
const FULL_BYTES = 1 * MiB;

const WRITE_FAILURES: Record<WriteProbeFailure['reason'], string> = {
  disk_full: 'writes fail: the database storage is full',
  read_only: 'writes fail: the database is read-only',
  busy: 'writes fail: the database stays locked',
  error: 'writes fail (see the server log)',
};

/**
 * What GET /health reports. A read alone said "ok" while every write failed on a full disk,
 * so the database check is a real committed write, and the data dir's free space is checked.
 */
export class HealthService {
  /** Concurrent requests share one probe: a burst of /health calls is one write, not many. */
  private inFlight?: Promise<Health>;

  constructor(private readonly o: HealthOptions) {}

  check(): Promise<Health> {
    this.inFlight ??= this.run().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async run(): Promise<Health> {
    const { database } = this.o;
    const readOk = await database.ping();
    const write = readOk ? await database.probeWrite() : undefined;
    if (write) this.o.log.warn({ reason: write.reason, code: write.code }, 'health: the database cannot write');
    const checks: HealthCheck[] = [
      { name: 'database_read', status: readOk ? 'ok' : 'failed', detail: readOk ? `${database.kind} answers` : `${database.kind} does not answer` },
      readOk ? this.writeCheck(write) : { name: 'database_write', status: 'failed', detail: 'not tried: the database does not answer' },
      await this.diskCheck(),
    ];
    const status = checks.some((c) => c.status === 'failed') ? 'failed' : checks.some((c) => c.status === 'degraded') ? 'degraded' : 'healthy';
    return {
      status,
      database: readOk && !write ? 'ok' : 'error',
      database_kind: database.kind,
      checks,
      version: this.o.version,
      uptime_seconds: Math.round(process.uptime()),
      timestamp: new Date().toISOString(),
    };
  }

  private writeCheck(failure: WriteProbeFailure | undefined): HealthCheck {
    if (failure) return { name: 'database_write', status: 'failed', detail: WRITE_FAILURES[failure.reason] };
    const alarm = this.o.storageAlarm?.recent(STORAGE_ALARM_MS);
    if (alarm) return { name: 'database_write', status: 'degraded', detail: `a write was committed, but a request failed for lack of storage ${alarm.secondsAgo} s ago` };
    return { name: 'database_write', status: 'ok', detail: 'a write was committed' };
  }

  private async diskCheck(): Promise<HealthCheck> {
    return (await diskSpaceCheck(this.o.dataDir, this.o.minFreeDiskMb, this.o.log)).check;
  }
}

/** Free space in the data dir: failed when full, degraded below minFreeDiskMb (also the admin's system health). */
export async function diskSpaceCheck(dataDir: string, minFreeDiskMb: number, log: FastifyBaseLogger): Promise<{ check: HealthCheck; freeMb?: number }> {
  let free: number;
  try {
    free = await freeBytes(dataDir);
  } catch (err) {
    log.warn({ err }, 'health: cannot measure free space in the data dir');
    return { check: { name: 'disk_space', status: 'failed', detail: 'the data directory cannot be measured' } };
  }
  const freeMb = Math.floor(free / MiB);
  if (free < FULL_BYTES) return { freeMb, check: { name: 'disk_space', status: 'failed', detail: `the data directory's filesystem is full (${freeMb} MB free)` } };
  if (freeMb < minFreeDiskMb) return { freeMb, check: { name: 'disk_space', status: 'degraded', detail: `${freeMb} MB free in the data directory, below the ${minFreeDiskMb} MB minimum` } };
  return { freeMb, check: { name: 'disk_space', status: 'ok', detail: `${freeMb} MB free in the data directory` } };
}
