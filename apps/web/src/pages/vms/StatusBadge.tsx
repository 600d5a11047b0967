import type { Action, SnapshotStatus, VmStatus } from '@twarga/contract';
import { pausedReasonText, statusLabel } from './vmStatus';

const GREEN = 'bg-emerald-100 text-emerald-800 dark:bg-emerald-900/50 dark:text-emerald-200';
const SLATE = 'bg-slate-200 text-slate-700 dark:bg-slate-800 dark:text-slate-300';
const AMBER = 'bg-amber-100 text-amber-900 dark:bg-amber-900/50 dark:text-amber-100';
const RED = 'bg-red-100 text-red-800 dark:bg-red-900/50 dark:text-red-200';

const DOT: Record<string, string> = { [GREEN]: 'bg-emerald-500', [SLATE]: 'bg-slate-400', [AMBER]: 'bg-amber-500', [RED]: 'bg-red-500' };

function Badge({ tone, busy, children }: { tone: string; busy: boolean; children: string }) {
  return (
    <span className={`inline-flex items-center gap-1.5 whitespace-nowrap rounded-full px-2 py-0.5 text-xs font-semibold ${tone}`}>
      <span aria-hidden="true" className={`h-1.5 w-1.5 rounded-full ${DOT[tone]} ${busy ? 'animate-pulse' : ''}`} />
      {children}
    </span>
  );
}

const VM_TONES: Record<VmStatus, string> = {
  running: GREEN,
  paused: RED,
  stopped: SLATE,
  destroyed: SLATE,
  error: RED,
  pending: AMBER,
  provisioning: AMBER,
  rebooting: AMBER,
  stopping: AMBER,
  destroying: AMBER,
};

/** running green, stopped slate, transitions amber (pulsing), error and paused red (with the reason). */
export function VmStatusBadge({ status, reason }: { status: VmStatus; reason?: string | null }) {
  const tone = VM_TONES[status] ?? SLATE;
  const label = statusLabel(status, reason);
  return (
    <span title={status === 'paused' ? `The guest is halted: ${pausedReasonText(reason)}` : undefined}>
      <Badge tone={tone} busy={tone === AMBER}>
        {label}
      </Badge>
    </span>
  );
}

const ACTION_TONES: Record<Action['status'], string> = { 'in-progress': AMBER, completed: GREEN, errored: RED };

export function ActionStatusBadge({ status }: { status: Action['status'] }) {
  return (
    <Badge tone={ACTION_TONES[status] ?? SLATE} busy={status === 'in-progress'}>
      {status}
    </Badge>
  );
}

const SNAPSHOT_TONES: Record<SnapshotStatus, string> = { creating: AMBER, available: GREEN, deleting: AMBER, error: RED };

/** available green; creating and deleting amber (pulsing); error red. */
export function SnapshotStatusBadge({ status }: { status: SnapshotStatus }) {
  const tone = SNAPSHOT_TONES[status] ?? SLATE;
  return (
    <Badge tone={tone} busy={tone === AMBER}>
      {status}
    </Badge>
  );
}
