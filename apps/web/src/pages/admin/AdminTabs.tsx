import { SectionTabs } from '../../components/SectionTabs';

const TABS = [
  { to: '/admin', label: 'Overview', end: true },
  { to: '/admin/users', label: 'Users', end: false },
  { to: '/admin/vms', label: 'VMs', end: false },
  { to: '/admin/hosts', label: 'Hosts', end: false },
  { to: '/admin/images', label: 'Images', end: false },
  { to: '/admin/terminals', label: 'Terminal sessions', end: false },
  { to: '/admin/audit', label: 'Audit log', end: false },
];

/** The admin area's sections, as links (each is its own page and URL). */
export function AdminTabs() {
  return <SectionTabs label="Admin sections" tabs={TABS} />;
}
