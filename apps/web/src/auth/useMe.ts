import { useQuery } from '@tanstack/react-query';
import { client, isApiError, keys } from '../api';

/** The signed-in user; fails with a 401 ApiError when there is no valid session. */
export function useMe() {
  return useQuery({
    queryKey: keys.me,
    queryFn: client.auth.me,
    retry: (count, err) => !(isApiError(err) && err.status < 500) && count < 2,
    staleTime: 30_000,
  });
}

export const isUnauthorized = (err: unknown) => isApiError(err) && err.status === 401;
