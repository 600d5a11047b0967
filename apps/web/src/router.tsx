import { createBrowserRouter, Navigate } from 'react-router';
import { BareLayout } from './components/BareLayout';
import { Layout } from './components/Layout';
import { AccountPage } from './pages/AccountPage';
import { AdminPage } from './pages/AdminPage';
import { AdminHostsPage } from './pages/admin/AdminHostsPage';
import { AdminImagesPage } from './pages/admin/AdminImagesPage';
import { AdminTerminalsPage } from './pages/admin/AdminTerminalsPage';
import { AdminAuditPage } from './pages/admin/AdminAuditPage';
import { AdminUserPage } from './pages/admin/AdminUserPage';
import { AdminUsersPage } from './pages/admin/AdminUsersPage';
import { AdminVmsPage } from './pages/admin/AdminVmsPage';
import { BillingPage } from './pages/BillingPage';
import { StatementPage } from './pages/billing/StatementPage';
import { LoginPage } from './pages/LoginPage';
import { MonitorPage } from './pages/MonitorPage';
import { ChannelsPage } from './pages/monitor/ChannelsPage';
import { PoliciesPage } from './pages/monitor/PoliciesPage';
import { NotFoundPage } from './pages/NotFoundPage';
import { RegisterPage } from './pages/RegisterPage';
import { SocPage } from './pages/SocPage';
import { VmsPage } from './pages/VmsPage';
import { CreateVmPage } from './pages/vms/CreateVmPage';
import { VmConsolePage } from './pages/vms/VmConsolePage';
import { VmDetailPage } from './pages/vms/VmDetailPage';
import { SnapshotsPage } from './pages/vms/snapshots/SnapshotsPage';

export const router = createBrowserRouter([
  { path: '/login', element: <LoginPage /> },
  { path: '/register', element: <RegisterPage /> },
  // The full-window console, and the printable statement (a sheet of paper, no app chrome to hide):
  // signed in, but without the app's header and footer.
  {
    element: <BareLayout />,
    children: [
      { path: 'vms/:id/console', element: <VmConsolePage /> },
      { path: 'billing/statement/:month', element: <StatementPage /> },
    ],
  },
  {
    element: <Layout />,
    children: [
      { index: true, element: <Navigate to="/vms" replace /> },
      { path: 'vms', element: <VmsPage /> },
      { path: 'vms/new', element: <CreateVmPage /> },
      { path: 'vms/snapshots', element: <SnapshotsPage /> },
      { path: 'vms/:id', element: <VmDetailPage /> },
      { path: 'vms/:id/snapshots', element: <VmDetailPage tab="snapshots" /> },
      { path: 'monitor', element: <MonitorPage /> },
      { path: 'monitor/policies', element: <PoliciesPage /> },
      { path: 'monitor/channels', element: <ChannelsPage /> },
      { path: 'soc', element: <SocPage /> },
      { path: 'admin', element: <AdminPage /> },
      { path: 'admin/terminals', element: <AdminTerminalsPage /> },
      { path: 'admin/hosts', element: <AdminHostsPage /> },
      { path: 'admin/images', element: <AdminImagesPage /> },
      { path: 'admin/users', element: <AdminUsersPage /> },
      { path: 'admin/users/:id', element: <AdminUserPage /> },
      { path: 'admin/vms', element: <AdminVmsPage /> },
      { path: 'admin/audit', element: <AdminAuditPage /> },
      { path: 'billing', element: <BillingPage /> },
      { path: 'account', element: <AccountPage /> },
      { path: '*', element: <NotFoundPage /> },
    ],
  },
]);
