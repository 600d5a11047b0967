import type { TerminalSession } from '@twarga/contract';
import { formatNumber } from '../../format';
import { formatDuration } from '../vms/format';

/** 900 → "900 B", 15360 → "15 KB", 2.5e6 → "2.4 MB" (binary units, like the recording limit). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${formatNumber(n)} B`;
  if (n < 1024 * 1024) return `${formatNumber(Math.round(n / 1024))} KB`;
  return `${formatNumber(Math.round((n / 1024 / 1024) * 10) / 10)} MB`;
}

/** How long the session lasted, or has lasted so far. */
export function sessionDuration(s: TerminalSession, now: number): string {
  const end = s.ended_at ? Date.parse(s.ended_at) : now;
  return formatDuration((end - Date.parse(s.started_at)) / 1000);
}

export const recordingUrl = (id: number) => `/api/terminal/recordings/${id}`;
