import { NavLink } from 'react-router';
import { focusRing } from './ui';

export interface SectionTab {
  to: string;
  label: string;
  /** Active only on this exact path (the area's first page), not on the pages below it. */
  end: boolean;
}

/** An area's sections as tabs that are links: each section is its own page and URL. */
export function SectionTabs({ label, tabs }: { label: string; tabs: SectionTab[] }) {
  return (
    <nav aria-label={label} className="mb-6 border-b border-slate-200 dark:border-slate-800">
      <ul className="-mb-px flex gap-4 overflow-x-auto">
        {tabs.map((t) => (
          <li key={t.to}>
            <NavLink
              to={t.to}
              end={t.end}
              className={({ isActive }) =>
                `inline-block whitespace-nowrap rounded-t-md border-b-2 px-1 pb-2.5 pt-1 text-sm font-medium ${focusRing} ${
                  isActive
                    ? 'border-indigo-600 text-indigo-700 dark:border-indigo-400 dark:text-indigo-300'
                    : 'border-transparent text-slate-600 hover:border-slate-300 hover:text-slate-900 dark:text-slate-400 dark:hover:border-slate-600 dark:hover:text-white'
                }`
              }
            >
              {t.label}
            </NavLink>
          </li>
        ))}
      </ul>
    </nav>
  );
}
