import type { ReactNode } from 'react';
import { Link } from 'react-router';
import { useMe } from '../../auth/useMe';
import { Section } from '../../components/Section';
import { link } from '../../components/ui';
import { credits, formatDate } from '../../format';

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
      {/* The credit history moved to the billing page, next to the balance's burn and runway. */}
      <p className="mt-4 text-sm text-slate-600 dark:text-slate-400">
        Your burn rate, runway, usage per VM and credit history are on the{' '}
        <Link to="/billing" className={link}>
          Billing page
        </Link>
        .
      </p>
    </Section>
  );
}
