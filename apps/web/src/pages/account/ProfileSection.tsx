import type { ReactNode } from 'react';
import { useMe } from '../../auth/useMe';
import { Section } from '../../components/Section';
import { credits, formatDate } from '../../format';
import { LedgerTable } from './LedgerTable';

function Item({ term, children, wide = false }: { term: string; children: ReactNode; wide?: boolean }) {
  return (
    <div className={`${wide ? 'col-span-2' : ''} rounded-lg bg-slate-50 px-4 py-3 dark:bg-slate-800/60`}>
      <dt className="text-xs font-medium uppercase tracking-wide text-slate-600 dark:text-slate-400">{term}</dt>
      <dd className="mt-1 text-sm [overflow-wrap:anywhere] font-semibold text-slate-900 dark:text-white">{children}</dd>
    </div>
  );
}

export function ProfileSection() {
  const { data: user } = useMe();
  return (
    <Section title="Profile">
      {user && (
        <dl className="grid grid-cols-2 gap-3 lg:grid-cols-6">
          <Item term="Username">{user.username}</Item>
          <Item term="Role">{user.is_admin ? 'Administrator' : 'User'}</Item>
          <Item term="E-mail" wide>{user.email}</Item>
          <Item term="Credits">{credits(user.credits)}</Item>
          <Item term="Member since">{formatDate(user.created_at)}</Item>
        </dl>
      )}
      <h3 className="mb-3 mt-6 text-base font-semibold text-slate-900 dark:text-white">Credit history</h3>
      <LedgerTable />
    </Section>
  );
}
