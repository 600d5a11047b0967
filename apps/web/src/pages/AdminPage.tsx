import { errorMessage } from '../api';
import { Alert } from '../components/Alert';
import { SkeletonRows } from '../components/Spinner';
import { AdminShell } from './admin/AdminShell';
import { Forbidden, isForbidden } from './admin/Forbidden';
import { HealthSection, StatisticsSection } from './admin/OverviewSections';
import { useStatistics } from './admin/queries';
import { useNow } from './vms/useNow';

function Overview() {
  const stats = useStatistics();
  const now = useNow(5_000);
  if (stats.isError && isForbidden(stats.error)) return <Forbidden />;
  if (stats.isPending) return <SkeletonRows label="Loading the system's health…" rows={6} />;
  return (
    <div className="space-y-6">
      {/* A failed refresh keeps the last figures on screen, with a note that they are stale. */}
      {stats.isError && <Alert>Could not load the statistics: {errorMessage(stats.error)}</Alert>}
      {stats.data && (
        <>
          <HealthSection health={stats.data.health} now={now} />
          <StatisticsSection stats={stats.data} />
        </>
      )}
    </div>
  );
}

/** /admin: the service's health (database, hosts, disk, jobs, syslog, server) and its figures. */
export function AdminPage() {
  return <AdminShell title="Admin">{() => <Overview />}</AdminShell>;
}
