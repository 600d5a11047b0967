import { useId } from 'react';

/**
 * "All" or "only these": a pair of radios and, for the second, a checkbox per item. An empty
 * selection means all (the API's rule for vm_ids and channel_ids).
 */
export function Checklist({
  legend,
  allLabel,
  someLabel,
  items,
  selected,
  onChange,
  emptyText,
  error,
}: {
  legend: string;
  allLabel: string;
  someLabel: string;
  items: { id: number; label: string }[];
  selected: number[] | 'all';
  onChange: (next: number[] | 'all') => void;
  emptyText: string;
  error?: string;
}) {
  const name = useId();
  const some = selected !== 'all';
  return (
    <fieldset>
      <legend className="mb-1.5 text-sm font-medium text-slate-800 dark:text-slate-200">{legend}</legend>
      <div className="flex flex-wrap gap-x-5 gap-y-1 text-sm text-slate-800 dark:text-slate-200">
        <label className="inline-flex items-center gap-2">
          <input type="radio" name={name} checked={!some} onChange={() => onChange('all')} className="accent-indigo-600" />
          {allLabel}
        </label>
        <label className="inline-flex items-center gap-2">
          <input type="radio" name={name} checked={some} onChange={() => onChange([])} disabled={items.length === 0} className="accent-indigo-600" />
          {someLabel}
        </label>
      </div>
      {some && (
        <ul className="mt-2 max-h-40 space-y-1 overflow-y-auto rounded-lg border border-slate-200 p-2 dark:border-slate-700">
          {items.length === 0 && <li className="text-sm text-slate-600 dark:text-slate-400">{emptyText}</li>}
          {items.map((it) => (
            <li key={it.id}>
              <label className="inline-flex items-center gap-2 text-sm text-slate-800 dark:text-slate-200">
                <input
                  type="checkbox"
                  className="accent-indigo-600"
                  checked={selected.includes(it.id)}
                  onChange={(e) => onChange(e.target.checked ? [...selected, it.id] : selected.filter((x) => x !== it.id))}
                />
                {it.label}
              </label>
            </li>
          ))}
        </ul>
      )}
      {error && <p className="mt-1.5 text-sm text-red-700 dark:text-red-300">{error}</p>}
    </fieldset>
  );
}
