import path from 'node:path';
import type { QmpClient } from './qmp-client.js';

/**
 * A point-in-time copy of a running guest's disk over QMP (drive-backup sync=full): the job's
 * copy-before-write filter is in place as soon as the job exists, so what lands in the target is
 * the disk as it was at that moment, whatever the guest writes meanwhile. The target is a new
 * standalone qcow2 (sync=full gives it no backing file); zero clusters stay sparse.
 */

export class BackupError extends Error {}

interface BlockInfo {
  device: string;
  qdev?: string;
  inserted?: { file: string; 'node-name'?: string };
}

/** The QMP name of the drive whose image is `file` (the -drive's device id, else its node name). */
export async function driveOf(qmp: QmpClient, file: string): Promise<string> {
  const blocks = await qmp.execute<BlockInfo[]>('query-block');
  const wanted = path.resolve(file);
  const found = blocks.find((b) => b.inserted && path.resolve(b.inserted.file) === wanted);
  const name = found?.device || found?.inserted?.['node-name'];
  if (!name) throw new BackupError(`QEMU has no drive for ${file}`);
  return name;
}

interface JobInfo {
  id: string;
  status: string;
  'current-progress'?: number;
  'total-progress'?: number;
  error?: string;
}

/**
 * Starts the backup of `device` into `target` and resolves once the job exists (the point in time
 * is fixed): the caller may thaw the guest then. waitForBackup() waits for the copy to finish.
 */
export async function startBackup(qmp: QmpClient, device: string, target: string, jobId: string): Promise<void> {
  // A job of ours an interrupted snapshot left behind (never dismissed) would block the id.
  if ((await qmp.execute<JobInfo[]>('query-jobs')).some((j) => j.id === jobId)) await cancelBackup(qmp, jobId);
  // auto-dismiss off: the job stays listed once concluded, so its error (if any) can still be read.
  await qmp.execute('drive-backup', { 'job-id': jobId, device, target, format: 'qcow2', sync: 'full', mode: 'absolute-paths', 'auto-dismiss': false });
}

/** Polls query-jobs until the job concluded; rejects with its error, or cancels it at the timeout. */
export async function waitForBackup(qmp: QmpClient, jobId: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = (await qmp.execute<JobInfo[]>('query-jobs')).find((j) => j.id === jobId);
    if (!job) throw new BackupError(`the backup job ${jobId} disappeared`);
    if (job.status === 'concluded') {
      await qmp.execute('job-dismiss', { id: jobId }).catch(() => undefined);
      if (job.error) throw new BackupError(`the disk copy failed: ${job.error}`);
      return;
    }
    if (Date.now() > deadline) {
      await cancelBackup(qmp, jobId);
      throw new BackupError(`the disk copy did not finish within ${Math.round(timeoutMs / 1000)} s (${job['current-progress'] ?? 0} of ${job['total-progress'] ?? '?'} bytes)`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** Cancels the job and waits (briefly) for it to conclude, then dismisses it. Best effort. */
export async function cancelBackup(qmp: QmpClient, jobId: string): Promise<void> {
  await qmp.execute('job-cancel', { id: jobId }).catch(() => undefined);
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const job = (await qmp.execute<JobInfo[]>('query-jobs').catch(() => [] as JobInfo[])).find((j) => j.id === jobId);
    if (!job) return;
    if (job.status === 'concluded') break;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  await qmp.execute('job-dismiss', { id: jobId }).catch(() => undefined);
}

const POLL_MS = 50;
