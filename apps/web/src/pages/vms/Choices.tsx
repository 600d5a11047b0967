import { useId, type InputHTMLAttributes, type ReactNode } from 'react';
import { focusRing } from '../../components/ui';

/** A <fieldset> named by its legend, with an optional hint and error wired for screen readers. */
export function ChoiceGroup({ legend, hint, error, children }: { legend: string; hint?: ReactNode; error?: string; children: ReactNode }) {
  const id = useId();
  const describedBy = [error && `${id}-error`, hint && `${id}-hint`].filter(Boolean).join(' ') || undefined;
  return (
    <fieldset aria-describedby={describedBy} aria-invalid={error ? true : undefined} className="min-w-0">
      <legend className="mb-1.5 block text-sm font-medium text-slate-800 dark:text-slate-200">{legend}</legend>
      {hint && (
        <p id={`${id}-hint`} className="mb-2 text-xs text-slate-600 dark:text-slate-400">
          {hint}
        </p>
      )}
      {error && (
        <p id={`${id}-error`} className="mb-2 text-sm text-red-700 dark:text-red-300">
          {error}
        </p>
      )}
      {children}
    </fieldset>
  );
}

const cardBase =
  'flex h-full cursor-pointer items-start gap-3 rounded-lg border border-slate-300 bg-white p-3 text-sm shadow-sm transition-colors hover:border-indigo-400 dark:border-slate-700 dark:bg-slate-900 dark:hover:border-indigo-500 ' +
  'has-[:checked]:border-indigo-600 has-[:checked]:bg-indigo-50 has-[:checked]:ring-1 has-[:checked]:ring-indigo-600 dark:has-[:checked]:border-indigo-400 dark:has-[:checked]:bg-indigo-950/40 dark:has-[:checked]:ring-indigo-400 ' +
  'has-[:focus-visible]:ring-2 has-[:focus-visible]:ring-indigo-500 has-[:disabled]:cursor-not-allowed has-[:disabled]:opacity-60 has-[:disabled]:hover:border-slate-300 dark:has-[:disabled]:hover:border-slate-700';

/** A radio button or checkbox inside a clickable card; `children` is its label. */
export function ChoiceCard({ type = 'radio', children, ...input }: { type?: 'radio' | 'checkbox'; children: ReactNode } & Omit<InputHTMLAttributes<HTMLInputElement>, 'type' | 'children'>) {
  return (
    <label className={cardBase}>
      <input type={type} {...input} className={`mt-0.5 h-4 w-4 shrink-0 accent-indigo-600 ${focusRing}`} />
      <span className="min-w-0 flex-1">{children}</span>
    </label>
  );
}
