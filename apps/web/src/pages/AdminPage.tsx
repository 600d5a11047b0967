import { useMe } from '../auth/useMe';
import { PageHeader } from '../components/PageHeader';
import { useTitle } from '../useTitle';
import { AdminTabs } from './admin/AdminTabs';
import { Forbidden } from './admin/Forbidden';
import { UsersTable } from './admin/UsersTable';

export function AdminPage() {
  useTitle('Admin');
  const { data: me } = useMe();
  return (
    <>
      <PageHeader title="Admin" description="The people who use this Twarga Cloud and their credits, the compute hosts their VMs run on, and the terminals open right now." />
      {me && (me.is_admin ? (
        <>
          <AdminTabs />
          <UsersTable me={me} />
        </>
      ) : <Forbidden />)}
    </>
  );
}
