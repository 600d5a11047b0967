import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { AdminUser, User } from '@twarga/contract';
import { useState } from 'react';
import { client, errorMessage, keys } from '../../api';
import { Alert } from '../../components/Alert';
import { EmptyList } from '../../components/EmptyState';
import { Section } from '../../components/Section';
import { SkeletonRows, Spinner } from '../../components/Spinner';
import { button, table } from '../../components/ui';
import { formatDate, formatNumber } from '../../format';
import { Forbidden, isForbidden } from './Forbidden';
import { AdjustCreditsDialog } from './AdjustCreditsDialog';

function Badge({ on, yes, no }: { on: boolean; yes: string; no: string }) {
  const tone = on
    ? 'bg-emerald-100 text-emerald-800 dark:bg-emerald-900/50 dark:text-emerald-200'
    : 'bg-slate-200 text-slate-700 dark:bg-slate-800 dark:text-slate-300';
  return <span className={`inline-block whitespace-nowrap rounded-full px-2 py-0.5 text-xs font-semibold ${tone}`}>{on ? yes : no}</span>;
}

export function UsersTable({ me }: { me: User }) {
  const queryClient = useQueryClient();
  const users = useQuery({ queryKey: keys.adminUsers, queryFn: client.admin.users });
  const [crediting, setCrediting] = useState<AdminUser>();

  const toggle = useMutation({
    mutationFn: (u: AdminUser) => client.admin.updateUser(u.id, { is_active: !u.is_active }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: keys.adminUsers }),
  });

  if (users.isError && isForbidden(users.error)) return <Forbidden />;

  return (
    <Section title="Users" description="Activate or deactivate accounts and adjust their credits. Every change is recorded.">
      {toggle.isError && (
        <Alert className="mb-4">
          Could not change {toggle.variables?.username}: {errorMessage(toggle.error)}
        </Alert>
      )}
      {users.isPending && <SkeletonRows label="Loading users…" />}
      {users.isError && <Alert>Could not load users: {errorMessage(users.error)}</Alert>}
      {users.isSuccess && users.data.length === 0 && <EmptyList>No users yet</EmptyList>}
      {users.isSuccess && users.data.length > 0 && (
        <div className={table.wrap}>
          <table className={table.table}>
            <caption className="sr-only">Users</caption>
            <thead>
              <tr>
                {['Username', 'E-mail', 'Role', 'Active', 'Credits', 'VMs', 'Created'].map((h) => (
                  <th key={h} scope="col" className={`${table.th} ${h === 'Credits' || h === 'VMs' ? 'text-right' : ''}`}>{h}</th>
                ))}
                <th scope="col" className={table.th}><span className="sr-only">Actions</span></th>
              </tr>
            </thead>
            <tbody className={table.tbody}>
              {users.data.map((u) => {
                const self = u.id === me.id;
                const busy = toggle.isPending && toggle.variables?.id === u.id;
                return (
                  <tr key={u.id}>
                    <td className={`${table.td} whitespace-nowrap font-medium text-slate-900 dark:text-white`}>
                      {u.username}
                      {self && <span className="ml-1 text-xs font-normal text-slate-600 dark:text-slate-400">(you)</span>}
                    </td>
                    <td className={`${table.td} whitespace-nowrap`}>{u.email}</td>
                    <td className={table.td}><Badge on={u.is_admin} yes="admin" no="user" /></td>
                    <td className={table.td}><Badge on={u.is_active} yes="active" no="inactive" /></td>
                    <td className={`${table.td} text-right tabular-nums`}>{formatNumber(u.credits)}</td>
                    <td className={`${table.td} text-right tabular-nums`}>{u.vm_count}</td>
                    <td className={`${table.td} whitespace-nowrap`}>{formatDate(u.created_at)}</td>
                    <td className={`${table.td} whitespace-nowrap text-right`}>
                      <button
                        type="button"
                        className={u.is_active ? button.dangerGhost : button.successGhost}
                        disabled={busy || self}
                        title={self ? 'You cannot deactivate your own account' : undefined}
                        onClick={() => toggle.mutate(u)}
                      >
                        {busy && <Spinner />}
                        {busy ? 'Saving…' : u.is_active ? 'Deactivate' : 'Activate'}
                        <span className="sr-only"> {u.username}</span>
                      </button>
                      <button type="button" className={button.ghost} onClick={() => setCrediting(u)}>
                        Adjust credits<span className="sr-only"> for {u.username}</span>
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <AdjustCreditsDialog key={crediting?.id ?? 'closed'} user={crediting} onClose={() => setCrediting(undefined)} selfId={me.id} />
    </Section>
  );
}
