import path from 'node:path';
import { stat } from 'node:fs/promises';
import type { QmpClient } from './qmp-client.js';

/**
 * A QEMU guest's RAM and device state saved to a file and loaded back (QMP migration to and
 * from `exec:cat`). QEMU 7.2 has no `file:` migration URI, and `exec:` runs its command with
 * /bin/sh: the file name is therefore checked against a strict charset and confined to a
 * directory we own, so no name can ever reach the shell as anything but a plain path.
 */

export class MigrationError extends Error {}

export interface StateFileOptions {
  /** The file must lie inside this directory (e.g. <data>/warm or <data>/snapshots). */
  within: string;
  /** Budget for the whole save or load (default 120 s). */
  timeoutMs?: number;
  /**
   * Leave shared file-backed RAM out of the stream (QEMU's x-ignore-shared capability): the RAM
   * stays in its file (qemuArgs' memoryFile). Must be the same on the save and the load.
   */
  ignoreShared?: boolean;
}

export interface SaveResult {
  /** Size of the state file. */
  bytes: number;
  /** Time from `stop` to the migration completed. */
  ms: number;
}

/** Letters, digits and . _ - / only: nothing the shell would read as anything but a path. */
const SAFE_PATH = /^\/[A-Za-z0-9._/-]+$/;

/** The state file's absolute path, refused unless it is a plain path inside `within`. */
export function assertStateFile(file: string, within: string): string {
  const resolved = path.resolve(file);
  const root = path.resolve(within);
  if (!SAFE_PATH.test(resolved) || resolved.split('/').some((part) => part === '..')) throw new MigrationError(`unsafe state file path: ${JSON.stringify(file)}`);
  if (!resolved.startsWith(root + path.sep)) throw new MigrationError(`state file ${resolved} is outside ${root}`);
  return resolved;
}

/** The QMP migration URIs for a checked file (exported for the unit test). */
export const saveUri = (file: string) => `exec:cat > ${file}`;
export const loadUri = (file: string) => `exec:cat ${file}`;

/**
 * Pauses the guest (QMP stop) and writes its RAM and device state to `file`. The guest stays
 * paused afterwards (run state 'postmigrate'): the caller either `cont`s it (a memory snapshot of
 * a running VM) or quits it (a warm snapshot). Whatever disk the guest has must be copied by the
 * caller while it is paused, for the pair to be consistent.
 */
export async function saveState(qmp: QmpClient, file: string, options: StateFileOptions): Promise<SaveResult> {
  const target = assertStateFile(file, options.within);
  const started = Date.now();
  await qmp.execute('stop');
  // The default bandwidth cap (128 MiB/s) throttles a local file for nothing.
  await qmp.execute('migrate-set-parameters', { 'max-bandwidth': MAX_BANDWIDTH });
  await setIgnoreShared(qmp, options.ignoreShared ?? false);
  await qmp.execute('migrate', { uri: saveUri(target) });
  await waitForMigration(qmp, options.timeoutMs ?? DEFAULT_TIMEOUT_MS, 'save');
  const bytes = (await stat(target)).size;
  if (bytes === 0) throw new MigrationError('the saved state file is empty');
  return { bytes, ms: Date.now() - started };
}

/**
 * Loads `file` into a QEMU started with `-incoming defer` (and `-S`, see qemuArgs' incoming
 * option: it stays paused after the load so the caller can adjust devices, then `cont`s it).
 * Resolves once the incoming migration completed; returns how long it took.
 */
export async function loadState(qmp: QmpClient, file: string, options: StateFileOptions): Promise<{ ms: number }> {
  const source = assertStateFile(file, options.within);
  const started = Date.now();
  await setIgnoreShared(qmp, options.ignoreShared ?? false);
  await qmp.execute('migrate-incoming', { uri: loadUri(source) });
  await waitForMigration(qmp, options.timeoutMs ?? DEFAULT_TIMEOUT_MS, 'load');
  return { ms: Date.now() - started };
}

function setIgnoreShared(qmp: QmpClient, on: boolean): Promise<unknown> {
  return qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'x-ignore-shared', state: on }] });
}

/** Polls query-migrate until completed (resolves) or failed/cancelled/timed out (MigrationError). */
async function waitForMigration(qmp: QmpClient, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = await qmp.execute<{ status?: string; 'error-desc'?: string }>('query-migrate');
    if (info.status === 'completed') return;
    if (info.status === 'failed' || info.status === 'cancelled') throw new MigrationError(`state ${what} ${info.status}${info['error-desc'] ? `: ${info['error-desc']}` : ''}`);
    if (Date.now() > deadline) {
      await qmp.execute('migrate_cancel').catch(() => undefined);
      throw new MigrationError(`state ${what} did not complete within ${timeoutMs} ms (status ${info.status ?? 'none'})`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

const DEFAULT_TIMEOUT_MS = 120_000;
const POLL_MS = 10;
/** Bytes per second: effectively unlimited for a local file. */
const MAX_BANDWIDTH = 64 * 1024 * 1024 * 1024;
