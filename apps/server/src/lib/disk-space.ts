import { stat, statfs } from 'node:fs/promises';
import path from 'node:path';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/**
 * Bytes an unprivileged writer can still use on the filesystem that holds `dir` (f_bavail:
 * what root reserves is not ours). A dir not created yet is measured at its nearest parent.
 */
export async function freeBytes(dir: string): Promise<number> {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    try {
      const s = await statfs(d);
      return s.bavail * s.bsize;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || d === path.dirname(d)) throw err;
    }
  }
}

/** Bytes really allocated to a (sparse, thin) file; 0 when it does not exist (yet). */
export async function allocatedBytes(file: string): Promise<number> {
  try {
    return (await stat(file)).blocks * 512;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
}

/** SQLite result codes and PostgreSQL SQLSTATEs that mean "the disk (or quota) is full". */
const DISK_FULL_CODES = new Set(['SQLITE_FULL', '53100', 'ENOSPC', 'EDQUOT']);

/** True when a database or file system error means no space is left (SQLITE_FULL, PG 53100, ENOSPC). */
export function isDiskFull(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && DISK_FULL_CODES.has(e.code)) return true;
  }
  return false;
}

/**
 * Remembers the last time a request failed for lack of storage. GET /health reports it for a
 * while: its own one-row write can still succeed when other writes fail (a full PostgreSQL
 * tablespace only refuses writes that must grow a table).
 */
export class StorageAlarm {
  private last?: { at: number; code?: string };

  note(err: unknown, now = Date.now()): void {
    const code = (err as { code?: unknown }).code;
    this.last = { at: now, code: typeof code === 'string' ? code : undefined };
  }

  /** The last storage failure if it is at most windowMs old. */
  recent(windowMs: number, now = Date.now()): { secondsAgo: number; code?: string } | undefined {
    if (!this.last || now - this.last.at > windowMs) return undefined;
    return { secondsAgo: Math.round((now - this.last.at) / 1000), code: this.last.code };
  }
}
