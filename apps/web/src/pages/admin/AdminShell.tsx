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
      <PageHeader title="Admin" description="The people who use this Twarga Cloud and their credits, the compute hosts their VMs run on, and the terminals open right now." />
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
