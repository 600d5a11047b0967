import type { TerminalKind } from '@twarga/contract';
import { useId } from 'react';

const OPTIONS: { kind: TerminalKind; label: string }[] = [
  { kind: 'serial', label: 'Serial' },
  { kind: 'ssh', label: 'SSH' },
];

/**
 * Serial / SSH as a segmented control: real radio buttons (invisible, laid over their label), so
 * clicks, arrow keys and screen readers all work.
 */
export function KindSwitch({ value, onChange, tone = 'page' }: { value: TerminalKind; onChange: (kind: TerminalKind) => void; tone?: 'page' | 'dark' }) {
  const name = useId();
  const track = tone === 'dark' ? 'bg-white/10' : 'bg-slate-100 dark:bg-slate-800';
  const idle = tone === 'dark' ? 'text-slate-300 hover:text-white' : 'text-slate-600 hover:text-slate-900 dark:text-slate-300 dark:hover:text-white';
  const on = tone === 'dark' ? 'bg-slate-700 text-white shadow-sm' : 'bg-white text-slate-900 shadow-sm dark:bg-slate-600 dark:text-white';
  return (
    <fieldset className={`inline-flex rounded-lg p-1 ${track}`}>
      <legend className="sr-only">Console type</legend>
      {OPTIONS.map((o) => (
        <label
          key={o.kind}
          className={`relative cursor-pointer rounded-md px-3 py-1 text-sm font-medium transition-colors has-[:focus-visible]:ring-2 has-[:focus-visible]:ring-indigo-500 ${value === o.kind ? on : idle}`}
        >
          <input type="radio" name={name} value={o.kind} checked={value === o.kind} onChange={() => onChange(o.kind)} className="absolute inset-0 cursor-pointer appearance-none rounded-md opacity-0" />
          {o.label}
        </label>
      ))}
    </fieldset>
  );
}
