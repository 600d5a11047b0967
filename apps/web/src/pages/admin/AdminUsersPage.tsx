import type { AdminUser, BulkUsersRequest, BulkUsersResponse, User } from '@twarga/contract';
import { useEffect, useId, useMemo, useState } from 'react';
import { useSearchParams } from 'react-router';
import { errorMessage } from '../../api';
import { Alert } from '../../components/Alert';
import { EmptyList } from '../../components/EmptyState';
import { Section } from '../../components/Section';
import { SkeletonRows, Spinner } from '../../components/Spinner';
import { button, input, muted } from '../../components/ui';
import { formatNumber, formatSigned } from '../../format';
import { AdjustCreditsDialog } from './AdjustCreditsDialog';
import { AdminShell } from './AdminShell';
import { BulkUsersDialog, type BulkAction } from './BulkUsersDialog';
import { Forbidden, isForbidden } from './Forbidden';
import { Pager } from './Pager';
import { nextSort, readUsersView, USER_STATUSES, USERS_PAGE_SIZE, usersQuery, withParams, type UserSort } from './params';
import { useAdminUsers } from './queries';
import { UsersTable } from './UsersTable';
import { useDebounced } from './useDebounced';

const STATUS_LABEL: Record<(typeof USER_STATUSES)[number], string> = { all: 'Everyone, deleted too', active: 'Active', inactive: 'Inactive', admin: 'Admins', deleted: 'Deleted' };
const label = 'mb-1 block text-xs font-medium text-slate-700 dark:text-slate-300';

function doneText(res: BulkUsersResponse, body: BulkUsersRequest): string {
  const n = res.users.length;
  const who = `${n} ${n === 1 ? 'user' : 'users'}`;
  if (body.action === 'credit') return `Gave ${who} ${formatSigned(body.amount ?? 0)} credits each (“${body.reason}”).`;
  return `${body.action === 'activate' ? 'Activated' : 'Deactivated'} ${who}.`;
}

function Users({ me }: { me: User }) {
  const [params, setParams] = useSearchParams();
  const view = useMemo(() => readUsersView(params), [params]);
  const query = useMemo(() => usersQuery(view), [view]);
  const users = useAdminUsers(query);
  const id = useId();

  // The search box: typed here, sent (and put in the URL) once typing pauses.
  const [search, setSearch] = useState(view.q ?? '');
  const settled = useDebounced(search.trim(), 300);
  useEffect(() => {
    if (settled !== (view.q ?? '')) setParams((prev) => withParams(prev, { q: settled, page: undefined }), { replace: true });
    // eslint-disable-next-line react-hooks/exhaustive-deps -- only a settled search changes the URL
  }, [settled]);
  // Back/forward or a shared link changed the search: show it (a trailing space being typed stays).
  useEffect(() => setSearch((s) => (s.trim() === (view.q ?? '') ? s : (view.q ?? ''))), [view.q]);

  const [selected, setSelected] = useState<Map<number, AdminUser>>(new Map());
  const [bulk, setBulk] = useState<BulkAction>();
  const [bulkCount, setBulkCount] = useState(0);
  const [done, setDone] = useState<string>();
  const [crediting, setCrediting] = useState<AdminUser>();

  if (users.isError && isForbidden(users.error)) return <Forbidden />;
  const rows = users.data?.rows ?? [];
  const total = users.data?.total ?? 0;

  const set = (changes: Record<string, string | number | undefined>) => setParams((prev) => withParams(prev, changes));
  const sort = (c: UserSort) => {
    const next = nextSort(view, c);
    set({ sort: next.sort, order: next.order, page: undefined });
  };
  const select = (u: AdminUser, on: boolean) =>
    setSelected((m) => {
      const next = new Map(m);
      if (on) next.set(u.id, u);
      else next.delete(u.id);
      return next;
    });
  const selectPage = (on: boolean) =>
    setSelected((m) => {
      const next = new Map(m);
      for (const u of rows) if (!u.deleted_at) (on ? next.set(u.id, u) : next.delete(u.id));
      return next;
    });
  const openBulk = (a: BulkAction) => {
    setDone(undefined);
    setBulkCount((c) => c + 1);
    setBulk(a);
  };

  return (
    <Section title="Users" description="Find accounts, open one to see its VMs, credits, quotas and events, or select several to change them at once. Every change is recorded in the audit log.">
      <form role="search" aria-label="Find users" onSubmit={(e) => e.preventDefault()} className="mb-4 flex flex-wrap items-end gap-3">
        <div className="min-w-56 flex-1">
          <label htmlFor={`${id}-q`} className={label}>Search</label>
          <input id={`${id}-q`} type="search" className={input} placeholder="Username or e-mail" maxLength={100} value={search} onChange={(e) => setSearch(e.target.value)} />
        </div>
        <div>
          <label htmlFor={`${id}-status`} className={label}>Show</label>
          <select id={`${id}-status`} className={input} value={view.status ?? ''} onChange={(e) => set({ status: e.target.value, page: undefined })}>
            <option value="">Everyone but deleted</option>
            {USER_STATUSES.map((s) => <option key={s} value={s}>{STATUS_LABEL[s]}</option>)}
          </select>
        </div>
        {users.isFetching && !users.isPending && (
          <span className={`mb-2 inline-flex items-center gap-2 text-sm ${muted}`} role="status">
            <Spinner /> Updating…
          </span>
        )}
      </form>

      {selected.size > 0 && (
        <div role="region" aria-label="Bulk actions" className="mb-4 flex flex-wrap items-center gap-3 rounded-lg border border-indigo-200 bg-indigo-50 px-4 py-2.5 dark:border-indigo-800 dark:bg-indigo-950/50">
          <p className="text-sm font-medium text-indigo-900 dark:text-indigo-100" data-testid="selected-count">
            {formatNumber(selected.size)} selected
          </p>
          <div className="flex flex-wrap gap-2">
            <button type="button" className={button.secondary} onClick={() => openBulk('activate')}>Activate</button>
            <button type="button" className={button.secondary} onClick={() => openBulk('deactivate')}>Deactivate</button>
            <button type="button" className={button.primary} onClick={() => openBulk('credit')}>Credit…</button>
          </div>
          <button type="button" className={`${button.ghost} ml-auto`} onClick={() => setSelected(new Map())}>Clear selection</button>
        </div>
      )}
      {done && <Alert tone="success" className="mb-4">{done}</Alert>}

      {users.isPending && <SkeletonRows label="Loading users…" />}
      {users.isError && <Alert className="mb-4">Could not load users: {errorMessage(users.error)}</Alert>}
      {users.isSuccess && rows.length === 0 && <EmptyList>{view.q || view.status ? 'No user matches these filters' : 'No users yet'}</EmptyList>}
      {rows.length > 0 && (
        <UsersTable users={rows} me={me} view={view} onSort={sort} selected={new Set(selected.keys())} onSelect={select} onSelectPage={selectPage} onCredit={(u) => { setDone(undefined); setCrediting(u); }} />
      )}
      {users.data && <Pager page={view.page} pageSize={USERS_PAGE_SIZE} total={total} shown={rows.length} noun="users" onPage={(p) => set({ page: p > 1 ? p : undefined })} />}

      <BulkUsersDialog
        key={bulkCount}
        action={bulk}
        users={[...selected.values()]}
        onClose={() => setBulk(undefined)}
        onDone={(res, body) => {
          setBulk(undefined);
          setSelected(new Map());
          setDone(doneText(res, body));
        }}
      />
      <AdjustCreditsDialog key={crediting?.id ?? 'closed'} user={crediting} onClose={() => setCrediting(undefined)} selfId={me.id} />
    </Section>
  );
}

/** /admin/users: search, sort, page, select and change users. */
export function AdminUsersPage() {
  return <AdminShell title="Users · Admin">{(me) => <Users me={me} />}</AdminShell>;
}
