import { formatNumber } from '../../format';

/** Indigo while there is room, amber from 75 %, red from 90 %. */
function tone(pct: number): string {
  if (pct >= 90) return 'bg-red-500 dark:bg-red-400';
  if (pct >= 75) return 'bg-amber-500 dark:bg-amber-400';
  return 'bg-indigo-500 dark:bg-indigo-400';
}

/** "RAM  2,048 / 16,384 MB" over a thin bar; a meter for screen readers. */
export function UsageBar({ label, used, total, unit = '', of }: { label: string; used: number; total: number; unit?: string; of: string }) {
  const pct = total > 0 ? Math.min(100, (used / total) * 100) : 0;
  // Something in use always shows a sliver, so 1 VM on a big host is not an empty bar.
  const width = used > 0 ? Math.max(pct, 2) : 0;
  const amount = `${formatNumber(used)} / ${formatNumber(total)}${unit ? ` ${unit}` : ''}`;
  return (
    <div className="sm:min-w-[9.5rem]">
      <div className="flex items-baseline justify-between gap-3 text-xs">
        <span className="font-medium text-slate-700 dark:text-slate-300">{label}</span>
        <span className="whitespace-nowrap tabular-nums text-slate-600 dark:text-slate-400">{amount}</span>
      </div>
      <div
        role="meter"
        aria-label={`${label} in use on ${of}`}
        aria-valuemin={0}
        aria-valuemax={total}
        aria-valuenow={Math.min(used, total)}
        aria-valuetext={`${amount} (${Math.round(pct)} %)`}
        className="mt-1 h-1.5 overflow-hidden rounded-full bg-slate-200 dark:bg-slate-700"
      >
        <div className={`h-full rounded-full transition-[width] ${tone(pct)}`} style={{ width: `${width}%` }} />
      </div>
    </div>
  );
}
