import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useNavigate } from 'react-router';
import { client } from '../api';

/** Ends the session on the server, forgets every cached answer and goes to /login. */
export function useLogout() {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  return useMutation({
    mutationFn: client.auth.logout,
    // Even if the server call fails (session already gone), leave the signed-in area.
    onSettled: async () => {
      await navigate('/login', { replace: true });
      queryClient.clear();
    },
  });
}
