import { EmptyState } from '../components/EmptyState';
import { PageHeader } from '../components/PageHeader';
import { useTitle } from '../useTitle';

export function SocPage() {
  useTitle('Security events');
  return (
    <>
      <PageHeader title="Security events" description="Logins, lockouts, key and token changes, and more." />
      <EmptyState
        title="A security feed is coming"
        icon={
          <svg viewBox="0 0 24 24" className="h-7 w-7" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round">
            <path d="M12 3 4 6v6c0 4.5 3.4 8.3 8 9 4.6-.7 8-4.5 8-9V6l-8-3Z" />
            <path d="m9 12 2 2 4-4" />
          </svg>
        }
      >
        The security-event feed arrives soon: you will follow every sign-in and change to your account as it happens.
      </EmptyState>
    </>
  );
}
