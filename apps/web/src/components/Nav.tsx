import { NavLink } from 'react-router';
import { focusRing } from './ui';

export interface NavItem {
  to: string;
  label: string;
}

export function navItems(isAdmin: boolean): NavItem[] {
  return [
    { to: '/vms', label: 'VMs' },
    { to: '/monitor', label: 'Monitor' },
    { to: '/soc', label: 'SOC' },
    { to: '/billing', label: 'Billing' },
    ...(isAdmin ? [{ to: '/admin', label: 'Admin' }] : []),
    { to: '/account', label: 'Account' },
  ];
}

/** Desktop: a row of links (md and up). NavLink sets aria-current="page" on the active one. */
export function DesktopNav({ items }: { items: NavItem[] }) {
  return (
    <nav aria-label="Main" className="hidden md:block">
      <ul className="flex items-center gap-1">
        {items.map((item) => (
          <li key={item.to}>
            <NavLink
              to={item.to}
              className={({ isActive }) =>
                `rounded-md px-3 py-2 text-sm font-medium transition-colors ${focusRing} ${
                  isActive
                    ? 'bg-indigo-50 text-indigo-700 dark:bg-indigo-950 dark:text-indigo-200'
                    : 'text-slate-700 hover:bg-slate-100 hover:text-slate-900 dark:text-slate-300 dark:hover:bg-slate-800 dark:hover:text-white'
                }`
              }
            >
              {item.label}
            </NavLink>
          </li>
        ))}
      </ul>
    </nav>
  );
}

/** Phone: a stacked list inside the collapsible menu panel. */
export function MobileNav({ items }: { items: NavItem[] }) {
  return (
    <nav aria-label="Main">
      <ul className="space-y-1">
        {items.map((item) => (
          <li key={item.to}>
            <NavLink
              to={item.to}
              className={({ isActive }) =>
                `block rounded-md px-3 py-2.5 text-base font-medium ${focusRing} ${
                  isActive
                    ? 'bg-indigo-50 text-indigo-700 dark:bg-indigo-950 dark:text-indigo-200'
                    : 'text-slate-700 hover:bg-slate-100 dark:text-slate-200 dark:hover:bg-slate-800'
                }`
              }
            >
              {item.label}
            </NavLink>
          </li>
        ))}
      </ul>
    </nav>
  );
}
