import type { AdminUser, User } from '@twarga/contract';
import { useEffect, useRef } from 'react';
import { Link } from 'react-router';
import { button, focusRing, link, table } from '../../components/ui';
import { formatDate, formatDateTime, formatNumber } from '../../format';
import { ActiveBadge, BillingStateBadge, RoleBadge } from './badges';
import { ago, type UserSort, type UsersView } from './params';

/** wide: shown from lg; wider: from 2xl (the row's actions must stay on screen). */
const COLUMNS: { label: string; sort?: UserSort; right?: boolean; wide?: boolean; wider?: boolean }[] = [
  { label: 'E-mail', sort: 'email', wide: true },
  { label: 'Account' },
  { label: 'Billing' },
  { label: 'Credits', sort: 'credits', right: true },
  { label: 'VMs', sort: 'vm_count', right: true },
  { label: 'Last login', sort: 'last_login_at', wide: true },
  { label: 'Created', sort: 'created_at', wider: true },
];

/** A header that sorts: a button inside, aria-sort on the cell. */
function SortHeader({ label, column, view, onSort, right, className = '' }: { label: string; column: UserSort; view: UsersView; onSort: (c: UserSort) => void; right?: boolean; className?: string }) {
  const active = view.sort === column;
  const aria = active ? (view.order === 'asc' ? 'ascending' : 'descending') : 'none';
  return (
    <th scope="col" aria-sort={aria} className={`${table.th} ${right ? 'text-right' : ''} ${className}`}>
      <button type="button" onClick={() => onSort(column)} className={`inline-flex items-center gap-1 rounded uppercase ${focusRing} hover:text-slate-900 dark:hover:text-white`}>
        {label}
        <span aria-hidden="true" className={active ? '' : 'opacity-30'}>
          {active && view.order === 'desc' ? '▼' : '▲'}
        </span>
      </button>
    </th>
  );
}

/** The header checkbox: checked when every row is, mixed when some are. */
function SelectAll({ checked, mixed, onChange }: { checked: boolean; mixed: boolean; onChange: () => void }) {
  const ref = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (ref.current) ref.current.indeterminate = mixed;
  }, [mixed]);
  return <input ref={ref} type="checkbox" aria-label="Select every user on this page" className="h-4 w-4 rounded border-slate-400" checked={checked} onChange={onChange} />;
}

interface UsersTableProps {
  users: AdminUser[];
  me: User;
  view: UsersView;
  onSort: (c: UserSort) => void;
  selected: ReadonlySet<number>;
  onSelect: (u: AdminUser, on: boolean) => void;
  onSelectPage: (on: boolean) => void;
  onCredit: (u: AdminUser) => void;
}

/** A page of users: sortable headers, a checkbox per row for bulk actions, a link to each user's page. */
export function UsersTable({ users, me, view, onSort, selected, onSelect, onSelectPage, onCredit }: UsersTableProps) {
  const selectable = users.filter((u) => !u.deleted_at);
  const onPage = selectable.filter((u) => selected.has(u.id)).length;
  // "5 min ago" is read against the time the list arrived; it is asked again on every change.
  const now = Date.now();
  return (
    <div className={table.wrap}>
      <table className={table.table}>
        <caption className="sr-only">Users</caption>
        <thead>
          <tr>
            <th scope="col" className={`${table.th} w-8`}>
              <SelectAll checked={selectable.length > 0 && onPage === selectable.length} mixed={onPage > 0 && onPage < selectable.length} onChange={() => onSelectPage(onPage < selectable.length)} />
            </th>
            <SortHeader label="Username" column="username" view={view} onSort={onSort} />
            {COLUMNS.map((c) =>
              c.sort ? (
                <SortHeader key={c.label} label={c.label} column={c.sort} view={view} onSort={onSort} right={c.right} className={c.wider ? 'hidden 2xl:table-cell' : c.wide ? 'hidden lg:table-cell' : ''} />
              ) : (
                <th key={c.label} scope="col" className={table.th}>{c.label}</th>
              ),
            )}
            <th scope="col" className={table.th}><span className="sr-only">Actions</span></th>
          </tr>
        </thead>
        <tbody className={table.tbody}>
          {users.map((u) => {
            const self = u.id === me.id;
            return (
              <tr key={u.id} data-testid="admin-user-row" data-username={u.username} className={selected.has(u.id) ? 'bg-indigo-50/60 dark:bg-indigo-950/30' : undefined}>
                <td className={table.td}>
                  <input type="checkbox" aria-label={`Select ${u.username}`} className="h-4 w-4 rounded border-slate-400" disabled={!!u.deleted_at} checked={selected.has(u.id)} onChange={(e) => onSelect(u, e.target.checked)} />
                </td>
                <th scope="row" className={`${table.td} whitespace-nowrap text-left font-medium`}>
                  <Link to={`/admin/users/${u.id}`} className={link}>
                    {u.username}
                  </Link>
                  {self && <span className="ml-1 text-xs font-normal text-slate-600 dark:text-slate-400">(you)</span>}
                </th>
                <td className={`${table.td} hidden whitespace-nowrap lg:table-cell`}>{u.email}</td>
                <td className={table.td}>
                  <span className="flex gap-1">
                    <RoleBadge admin={u.is_admin} />
                    <ActiveBadge user={u} />
                  </span>
                </td>
                <td className={table.td}><BillingStateBadge state={u.billing_state} /></td>
                <td className={`${table.td} text-right tabular-nums`}>{formatNumber(u.credits)}</td>
                <td className={`${table.td} text-right tabular-nums`}>{u.vm_count}</td>
                <td className={`${table.td} hidden whitespace-nowrap lg:table-cell`}>{u.last_login_at ? <time dateTime={u.last_login_at} title={formatDateTime(u.last_login_at)}>{ago((now - Date.parse(u.last_login_at)) / 1000)}</time> : 'never'}</td>
                <td className={`${table.td} hidden whitespace-nowrap 2xl:table-cell`}>{formatDate(u.created_at)}</td>
                <td className={`${table.td} whitespace-nowrap text-right`}>
                  {!u.deleted_at && (
                    <button type="button" className={button.ghost} onClick={() => onCredit(u)}>
                      Adjust credits<span className="sr-only"> for {u.username}</span>
                    </button>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
