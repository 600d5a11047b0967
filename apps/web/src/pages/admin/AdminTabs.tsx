import { NavLink } from 'react-router';
import { focusRing } from '../../components/ui';

const TABS = [
  { to: '/admin', label: 'Users', end: true },
  { to: '/admin/terminals', label: 'Terminal sessions', end: false },
  { to: '/admin/hosts', label: 'Compute hosts', end: false },
];

/** The admin area's sections, as links (each is its own page and URL). */
export function AdminTabs() {
  return (
    <nav aria-label="Admin sections" className="mb-6 border-b border-slate-200 dark:border-slate-800">
      <ul className="-mb-px flex gap-4 overflow-x-auto">
        {TABS.map((t) => (
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
