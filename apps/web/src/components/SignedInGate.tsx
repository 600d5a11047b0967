import type { User } from '@twarga/contract';
import type { ReactElement } from 'react';
import { Navigate, useLocation } from 'react-router';
import { errorMessage } from '../api';
import { isUnauthorized, useMe } from '../auth/useMe';
import { Alert } from './Alert';
import { Loading } from './Spinner';
import { button } from './ui';

/**
 * The check every signed-in page shell makes: the user, or what to show instead
 * (a redirect to /login that comes back here, a spinner, or an error with a retry).
 */
export function useSignedIn(): { user: User; gate?: undefined } | { user?: undefined; gate: ReactElement } {
  const me = useMe();
  const location = useLocation();
  if (me.isError && isUnauthorized(me.error)) {
    const next = encodeURIComponent(location.pathname + location.search);
    return { gate: <Navigate to={`/login?next=${next}`} replace /> };
  }
  if (me.isPending) {
    return {
      gate: (
        <div className="flex min-h-screen items-center justify-center">
          <Loading label="Loading your account…" />
        </div>
      ),
    };
  }
  if (me.isError) {
    return {
      gate: (
        <div className="mx-auto max-w-md px-4 py-16">
          <Alert title="Twarga Cloud is not answering">{errorMessage(me.error)}</Alert>
          <button type="button" className={`${button.primary} mt-4`} onClick={() => void me.refetch()}>
            Try again
          </button>
        </div>
      ),
    };
  }
  return { user: me.data };
}
