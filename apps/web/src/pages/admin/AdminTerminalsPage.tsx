import { useMe } from '../../auth/useMe';
import { PageHeader } from '../../components/PageHeader';
import { useTitle } from '../../useTitle';
import { LiveSessionsTable } from '../terminals/LiveSessionsTable';
import { AdminTabs } from './AdminTabs';
import { Forbidden } from './Forbidden';

/** /admin/terminals: every terminal open right now, on every VM, and a way to end it. */
export function AdminTerminalsPage() {
  useTitle('Terminal sessions · Admin');
  const { data: me } = useMe();
  return (
    <>
      <PageHeader title="Admin" description="The people who use this Twarga Cloud and their credits, the compute hosts their VMs run on, and the terminals open right now." />
      {me &&
        (me.is_admin ? (
          <>
            <AdminTabs />
            <LiveSessionsTable />
          </>
        ) : (
          <Forbidden />
        ))}
    </>
  );
}
