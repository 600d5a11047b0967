import type { ReactNode } from 'react';
import { PageHeader } from '../../components/PageHeader';
import { SectionTabs } from '../../components/SectionTabs';
import { useTitle } from '../../useTitle';

const TABS = [
  { to: '/monitor', label: 'Overview', end: true },
  { to: '/monitor/policies', label: 'Alert policies', end: false },
  { to: '/monitor/channels', label: 'Notification channels', end: false },
];

/** Every monitoring page: the header and the section tabs (each its own URL). */
export function MonitorShell({ title, children }: { title: string; children: ReactNode }) {
  useTitle(title);
  return (
    <>
      <PageHeader title="Monitoring" description="Live CPU, memory, disk and network of your VMs (and, for admins, the host), the alerts they raised, and where alerts are sent." />
      <SectionTabs label="Monitoring sections" tabs={TABS} />
      <div className="space-y-6">{children}</div>
    </>
  );
}
