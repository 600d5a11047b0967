import { useId } from 'react';
import { RANGES, type Range } from './queries';

/** 1h / 6h / 24h / 7d / 30d as a segmented control of real radio buttons. */
export function RangePicker({ value, onChange }: { value: Range; onChange: (r: Range) => void }) {
  const name = useId();
  return (
    <fieldset className="inline-flex rounded-lg bg-slate-100 p-1 dark:bg-slate-800">
      <legend className="sr-only">Time range</legend>
      {RANGES.map((r) => (
        <label
          key={r}
          className={`relative cursor-pointer rounded-md px-3 py-1 text-sm font-medium transition-colors has-[:focus-visible]:ring-2 has-[:focus-visible]:ring-indigo-500 ${
            value === r ? 'bg-white text-slate-900 shadow-sm dark:bg-slate-600 dark:text-white' : 'text-slate-600 hover:text-slate-900 dark:text-slate-300 dark:hover:text-white'
          }`}
        >
          <input type="radio" name={name} value={r} checked={value === r} onChange={() => onChange(r)} className="absolute inset-0 cursor-pointer appearance-none rounded-md opacity-0" />
          {r}
        </label>
      ))}
    </fieldset>
  );
}
