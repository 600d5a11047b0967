import { useMe } from '../auth/useMe';
import { AlertsSection } from './monitor/AlertsSection';
import { HostOverview } from './monitor/HostOverview';
import { MonitorShell } from './monitor/MonitorShell';
import { VmCards } from './monitor/VmCards';

/** Monitoring overview: the host (admins), a card per VM of mine, and the alerts. */
export function MonitorPage() {
  const { data: me } = useMe();
  return (
    <MonitorShell title="Monitoring">
      {me?.is_admin && <HostOverview />}
      {me && <VmCards userId={me.id} />}
      <AlertsSection />
    </MonitorShell>
  );
}
