import type { ReactNode } from 'react';

/** A labelled figure with an optional line under it. */
export function Stat({ term, children, hint, testId }: { term: string; children: ReactNode; hint?: ReactNode; testId?: string }) {
  return (
    <div className="rounded-lg bg-slate-50 px-4 py-3 dark:bg-slate-800/60" data-testid={testId}>
      <dt className="text-xs font-medium uppercase tracking-wide text-slate-600 dark:text-slate-400">{term}</dt>
      <dd className="mt-1 text-lg font-semibold tabular-nums text-slate-900 dark:text-white">{children}</dd>
      {hint && <dd className="mt-0.5 text-xs text-slate-600 dark:text-slate-400">{hint}</dd>}
    </div>
  );
}

/** A thin horizontal gauge 0–100 %. */
export function Meter({ percent, label }: { percent: number | null; label: string }) {
  const p = percent === null ? 0 : Math.min(100, Math.max(0, percent));
  const tone = p >= 90 ? 'bg-red-500' : p >= 75 ? 'bg-amber-500' : 'bg-indigo-500 dark:bg-indigo-400';
  return (
    <div role="meter" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent === null ? undefined : Math.round(p)} className="h-1.5 w-full overflow-hidden rounded-full bg-slate-200 dark:bg-slate-700">
      <div className={`h-full rounded-full ${tone}`} style={{ width: `${p}%` }} />
    </div>
  );
}
