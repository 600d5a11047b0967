import { useQuery, type QueryClient } from '@tanstack/react-query';
import { client, keys } from '../../api';

/** While a session is live, its bytes and duration change and it may end elsewhere: poll gently. */
const POLL_WHILE_ACTIVE_MS = 10_000;

export const useVmTerminalSessions = (vmId: number) =>
  useQuery({
    queryKey: keys.vmTerminals(vmId),
    queryFn: () => client.terminal.forVm(vmId),
    refetchInterval: (q) => (q.state.data?.active.length ? POLL_WHILE_ACTIVE_MS : false),
  });

export const useLiveTerminalSessions = () =>
  useQuery({ queryKey: keys.liveTerminals, queryFn: client.terminal.live, refetchInterval: POLL_WHILE_ACTIVE_MS });

/**
 * A session started or ended. The server writes an ended session down just after the socket
 * closes, so ask again a moment later too.
 */
export function refreshTerminalSessions(queryClient: QueryClient, vmId: number): void {
  const refetch = () => {
    void queryClient.invalidateQueries({ queryKey: keys.vmTerminals(vmId) });
    void queryClient.invalidateQueries({ queryKey: keys.liveTerminals });
  };
  refetch();
  setTimeout(refetch, 1500);
}
