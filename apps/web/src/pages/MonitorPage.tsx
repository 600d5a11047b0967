import { EmptyState } from '../components/EmptyState';
import { PageHeader } from '../components/PageHeader';
import { useTitle } from '../useTitle';

export function MonitorPage() {
  useTitle('Monitoring');
  return (
    <>
      <PageHeader title="Monitoring" description="CPU, memory, disk and network of your VMs." />
      <EmptyState
        title="Charts are on their way"
        icon={
          <svg viewBox="0 0 24 24" className="h-7 w-7" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round">
            <path d="M3 3v18h18" />
            <path d="m7 15 4-4 3 3 5-6" />
          </svg>
        }
      >
        Live metrics for your machines arrive soon, right here.
      </EmptyState>
    </>
  );
}
