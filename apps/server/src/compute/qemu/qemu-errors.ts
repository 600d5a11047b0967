import { readFile } from 'node:fs/promises';
import type { CommandError } from '../../infra/process.js';

/**
 * The part of QEMU's complaint that says why, e.g. from
 * "qemu-system-x86_64: -drive file=/very/long/path,if=virtio,…: Could not open '…': Permission denied"
 * keeps "Could not open '…': Permission denied": QEMU echoes the whole option first, and that
 * echo used to push the reason out of the message.
 */
export function qemuReason(err: CommandError): string {
  if (err.timedOut) return `it did not come up within the time allowed${err.stderr.trim() ? `: ${err.stderr.trim().split('\n').pop()}` : ''}`;
  const lines = err.stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const reasons = lines.map((l) => l.replace(/^\S*qemu[^:\s]*: (?:-[a-z][\w-]* \S*?: )?/, ''));
  return (reasons.slice(-3).join(' | ') || `exit ${err.exitCode ?? 'signal'}, no output`).slice(-600);
}

/** What a file got from offset on (at most its last 8 KiB), '' if it cannot be read. */
export async function readFromOffset(file: string, offset: number): Promise<string> {
  try {
    const text = (await readFile(file)).subarray(offset);
    return text.subarray(Math.max(0, text.length - 8192)).toString('utf8');
  } catch {
    return '';
  }
}
