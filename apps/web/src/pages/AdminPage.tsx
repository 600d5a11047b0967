import { AdminShell } from './admin/AdminShell';
import { UsersTable } from './admin/UsersTable';

export function AdminPage() {
  return <AdminShell title="Admin">{(me) => <UsersTable me={me} />}</AdminShell>;
}
