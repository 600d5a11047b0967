import { LiveSessionsTable } from '../terminals/LiveSessionsTable';
import { AdminShell } from './AdminShell';

/** /admin/terminals: every terminal open right now, on every VM, and a way to end it. */
export function AdminTerminalsPage() {
  return <AdminShell title="Terminal sessions · Admin">{() => <LiveSessionsTable />}</AdminShell>;
}
