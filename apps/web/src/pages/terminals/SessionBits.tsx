import type { TerminalKind, TerminalSession } from '@twarga/contract';
import { END_REASON_LABELS } from '../../terminal/describeEnd';

export const KIND_NAMES: Record<TerminalKind, string> = { serial: 'Serial', ssh: 'SSH' };

const PILL = 'inline-flex items-center gap-1.5 whitespace-nowrap rounded-full px-2 py-0.5 text-xs font-semibold';

export function KindBadge({ kind }: { kind: TerminalKind }) {
  const tone = kind === 'ssh' ? 'bg-sky-100 text-sky-800 dark:bg-sky-900/50 dark:text-sky-200' : 'bg-violet-100 text-violet-800 dark:bg-violet-900/50 dark:text-violet-200';
  return <span className={`${PILL} ${tone}`}>{KIND_NAMES[kind]}</span>;
}

/** "Live" (pulsing green) for an open session, else why it ended. */
export function SessionStateBadge({ session }: { session: TerminalSession }) {
  if (session.active)
    return (
      <span className={`${PILL} bg-emerald-100 text-emerald-800 dark:bg-emerald-900/50 dark:text-emerald-200`}>
        <span aria-hidden="true" className="h-1.5 w-1.5 animate-pulse rounded-full bg-emerald-500" />
        Live
      </span>
    );
  const reason = session.end_reason;
  const bad = reason === 'backend_error';
  const tone = bad ? 'bg-red-100 text-red-800 dark:bg-red-900/50 dark:text-red-200' : 'bg-slate-200 text-slate-700 dark:bg-slate-800 dark:text-slate-300';
  return <span className={`${PILL} ${tone}`}>{reason ? END_REASON_LABELS[reason] : 'Ended'}</span>;
}
