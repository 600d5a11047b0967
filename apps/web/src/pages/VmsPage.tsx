import { EmptyState } from '../components/EmptyState';
import { PageHeader } from '../components/PageHeader';
import { useTitle } from '../useTitle';

export function VmsPage() {
  useTitle('Virtual machines');
  return (
    <>
      <PageHeader title="Virtual machines" description="Launch, connect to and manage your VMs." />
      <EmptyState
        title="Your VMs will live here"
        icon={
          <svg viewBox="0 0 24 24" className="h-7 w-7" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round">
            <rect x="3" y="4" width="18" height="7" rx="2" />
            <rect x="3" y="13" width="18" height="7" rx="2" />
            <path d="M7 7.5h.01M7 16.5h.01M11 7.5h6M11 16.5h6" />
          </svg>
        }
      >
        Creating virtual machines arrives soon. Meanwhile, add an SSH key on your Account page so it is ready for your first VM.
      </EmptyState>
    </>
  );
}
