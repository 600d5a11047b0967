import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { RouterProvider } from 'react-router';
import { isApiError, keys } from './api';
import { router } from './router';
import './index.css';

/** A 401 anywhere means the session ended: re-check who we are, which redirects to /login. */
function onAuthError(err: unknown, queryKey?: readonly unknown[]) {
  if (isApiError(err) && err.status === 401 && queryKey?.[0] !== keys.me[0]) {
    void queryClient.invalidateQueries({ queryKey: keys.me });
  }
}

const queryClient: QueryClient = new QueryClient({
  queryCache: new QueryCache({ onError: (err, query) => onAuthError(err, query.queryKey) }),
  mutationCache: new MutationCache({
    onError: (err) => {
      // Wrong-password answers are 401s too (login); only react when a session was expected.
      if (isApiError(err) && err.code === 'unauthorized') onAuthError(err, []);
    },
  }),
  defaultOptions: {
    queries: {
      retry: (count, err) => !(isApiError(err) && err.status < 500) && count < 2,
      refetchOnWindowFocus: true,
    },
  },
});

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');

createRoot(root).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>
  </StrictMode>,
);
