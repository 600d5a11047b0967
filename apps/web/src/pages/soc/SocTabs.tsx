import { Link, useSearchParams } from 'react-router';
import { focusRing } from '../../components/ui';
import type { SocTab } from './useSocParams';

/** The SOC's sections as tabs that are links (?tab=…), keeping the filters in the URL. */
export function SocTabs({ tabs, active }: { tabs: { tab: SocTab; label: string }[]; active: SocTab }) {
  const [params] = useSearchParams();
  const hrefFor = (tab: SocTab) => {
    const next = new URLSearchParams(params);
    next.delete('event');
    next.delete('incident');
    if (tab === 'events') next.delete('tab');
    else next.set('tab', tab);
    const s = next.toString();
    return s ? `?${s}` : '?';
  };
  return (
    <nav aria-label="SOC sections" className="mb-6 border-b border-slate-200 dark:border-slate-800">
      <ul className="-mb-px flex gap-4 overflow-x-auto">
        {tabs.map((t) => (
          <li key={t.tab}>
            <Link
              to={hrefFor(t.tab)}
              aria-current={active === t.tab ? 'page' : undefined}
              className={`inline-block whitespace-nowrap rounded-t-md border-b-2 px-1 pb-2.5 pt-1 text-sm font-medium ${focusRing} ${
                active === t.tab
                  ? 'border-indigo-600 text-indigo-700 dark:border-indigo-400 dark:text-indigo-300'
                  : 'border-transparent text-slate-600 hover:border-slate-300 hover:text-slate-900 dark:text-slate-400 dark:hover:border-slate-600 dark:hover:text-white'
              }`}
            >
              {t.label}
            </Link>
          </li>
        ))}
      </ul>
    </nav>
  );
}
