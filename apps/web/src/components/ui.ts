/** Shared Tailwind class strings, so every control looks and focuses the same way. */

const focus =
  'focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2 focus-visible:ring-offset-white dark:focus-visible:ring-indigo-400 dark:focus-visible:ring-offset-slate-900';

export const focusRing = focus;

const buttonBase = `inline-flex items-center justify-center gap-2 rounded-lg px-4 py-2 text-sm font-semibold transition-colors disabled:cursor-not-allowed disabled:opacity-60 ${focus}`;

export const button = {
  primary: `${buttonBase} bg-indigo-600 text-white shadow-sm hover:bg-indigo-700 dark:bg-indigo-600 dark:hover:bg-indigo-500`,
  secondary: `${buttonBase} border border-slate-300 bg-white text-slate-800 shadow-sm hover:bg-slate-50 dark:border-slate-600 dark:bg-slate-800 dark:text-slate-100 dark:hover:bg-slate-700`,
  danger: `${buttonBase} bg-red-600 text-white shadow-sm hover:bg-red-700 dark:bg-red-600 dark:hover:bg-red-500`,
  dangerGhost: `${buttonBase} px-3 py-1.5 text-red-700 hover:bg-red-50 dark:text-red-300 dark:hover:bg-red-950/60`,
  successGhost: `${buttonBase} px-3 py-1.5 text-emerald-700 hover:bg-emerald-50 dark:text-emerald-300 dark:hover:bg-emerald-950/60`,
  ghost: `${buttonBase} px-3 py-1.5 text-slate-700 hover:bg-slate-100 dark:text-slate-200 dark:hover:bg-slate-800`,
  icon: `inline-flex h-9 w-9 items-center justify-center rounded-lg text-slate-600 hover:bg-slate-100 hover:text-slate-900 dark:text-slate-300 dark:hover:bg-slate-800 dark:hover:text-white ${focus}`,
};

export const input =
  'block w-full rounded-lg border border-slate-300 bg-white px-3 py-2 text-sm text-slate-900 shadow-sm placeholder:text-slate-500 focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-500/40 aria-[invalid=true]:border-red-500 aria-[invalid=true]:focus:ring-red-500/40 dark:border-slate-600 dark:bg-slate-900 dark:text-slate-100 dark:placeholder:text-slate-500 dark:focus:border-indigo-400 dark:aria-[invalid=true]:border-red-400';

export const card =
  'rounded-xl border border-slate-200 bg-white shadow-sm dark:border-slate-800 dark:bg-slate-900';

export const link =
  'font-medium text-indigo-700 underline-offset-4 hover:underline dark:text-indigo-300 rounded-sm ' + focus;

export const table = {
  wrap: 'relative overflow-x-auto rounded-lg border border-slate-200 dark:border-slate-800',
  table: 'min-w-full divide-y divide-slate-200 text-left text-sm dark:divide-slate-800',
  th: 'whitespace-nowrap bg-slate-50 px-3 py-2.5 sm:px-4 text-xs font-semibold uppercase tracking-wide text-slate-600 dark:bg-slate-800/60 dark:text-slate-300',
  td: 'px-3 py-3 align-middle sm:px-4 text-slate-700 dark:text-slate-200',
  tbody: 'divide-y divide-slate-200 bg-white dark:divide-slate-800 dark:bg-slate-900',
};

export const muted = 'text-slate-600 dark:text-slate-400';
