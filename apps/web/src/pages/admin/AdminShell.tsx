import type { ReactNode } from 'react';
import type { User } from '@twarga/contract';
import { useMe } from '../../auth/useMe';
import { PageHeader } from '../../components/PageHeader';
import { useTitle } from '../../useTitle';
import { AdminTabs } from './AdminTabs';
import { Forbidden } from './Forbidden';

/** Every admin page: the header, the section tabs, and a 403 notice for non-admins. */
export function AdminShell({ title, children }: { title: string; children: (me: User) => ReactNode }) {
  useTitle(title);
  const { data: me } = useMe();
  return (
    <>
      <PageHeader title="Admin" description="Run this Twarga Cloud: its health, the people who use it and their credits, every VM, the compute hosts, open terminals, and a record of every admin action." />
      {me &&
        (me.is_admin ? (
          <>
            <AdminTabs />
            {children(me)}
          </>
        ) : (
          <Forbidden />
        ))}
    </>
  );
}
