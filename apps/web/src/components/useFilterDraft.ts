import { useEffect, useId, useState, type FormEvent } from 'react';

/** The small label above a filter field. */
export const filterLabel = 'mb-1 block text-xs font-medium text-slate-700 dark:text-slate-300';

/** An ISO timestamp as a datetime-local value (the browser's local time, to the minute). */
export function toLocalInput(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export const fromLocalInput = (v: string) => (v && !Number.isNaN(Date.parse(v)) ? new Date(v).toISOString() : undefined);

/** Empty strings are "no filter"; text is trimmed. */
function clean<F extends object>(f: F): F {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(f)) if (v !== undefined && v !== '') out[k] = typeof v === 'string' ? v.trim() : v;
  return out as F;
}

/**
 * A filter bar's draft: text fields edit the draft and apply on Enter or "Apply" (submit);
 * selects apply at once (applyNow). When the applied filters change under it (back/forward, a
 * shared link), the draft shows them. What is applied is cleaned: no empty strings, text trimmed.
 */
export function useFilterDraft<F extends object>(filters: F, onChange: (f: F) => void) {
  const [draft, setDraft] = useState(filters);
  const id = useId();
  const applied = JSON.stringify(filters);
  useEffect(() => setDraft(JSON.parse(applied) as F), [applied]);
  const text = (field: keyof F & string) => ({
    value: String(draft[field] ?? ''),
    onChange: (e: { target: { value: string } }) => setDraft({ ...draft, [field]: e.target.value || undefined }),
  });
  const applyNow = (changes: Partial<F>) => {
    const next = { ...draft, ...changes };
    setDraft(next);
    onChange(clean(next));
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onChange(clean(draft));
  };
  return { draft, setDraft, id, text, applyNow, submit };
}
