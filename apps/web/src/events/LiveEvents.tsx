import { useLiveEvents } from './useLiveEvents';

/** Runs the live-events stream and, only when it has been down a while, says so quietly. */
export function LiveEvents() {
  const { paused } = useLiveEvents();
  if (!paused) return null;
  return (
    <div
      role="status"
      className="pointer-events-none fixed bottom-4 right-4 z-40 flex items-center gap-2 rounded-full border border-slate-200 bg-white/95 px-3 py-1.5 text-xs font-medium text-slate-700 shadow-md backdrop-blur dark:border-slate-700 dark:bg-slate-900/95 dark:text-slate-200"
    >
      <span aria-hidden="true" className="h-2 w-2 animate-pulse rounded-full bg-amber-500" />
      Live updates paused — reconnecting
    </div>
  );
}
