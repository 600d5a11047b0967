import { useMe } from '../auth/useMe';
import { PageHeader } from '../components/PageHeader';
import { useTitle } from '../useTitle';
import { Forbidden } from './admin/Forbidden';
import { UsersTable } from './admin/UsersTable';

export function AdminPage() {
  useTitle('Admin');
  const { data: me } = useMe();
  return (
    <>
      <PageHeader title="Admin" description="Manage the people who use this Twarga Cloud." />
      {me && (me.is_admin ? <UsersTable me={me} /> : <Forbidden />)}
    </>
  );
}
