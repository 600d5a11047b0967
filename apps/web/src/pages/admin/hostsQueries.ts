import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { CreateHostRequest, MigrateVmRequest, UpdateHostRequest } from '@twarga/contract';
import { client, keys } from '../../api';
import { untilActionEnds } from './hostMigration';

/** Usage follows VMs as users create and destroy them: refresh it now and then. */
const POLL_MS = 15_000;

export const useHosts = () => useQuery({ queryKey: keys.adminHosts, queryFn: client.admin.hosts.list, refetchInterval: POLL_MS });

/** One host and the VMs still on it; its key sits under adminHosts, so every host change refreshes it too. */
export const useHostDetail = (id: number | undefined) =>
  useQuery({ queryKey: [...keys.adminHosts, id], queryFn: () => client.admin.hosts.get(id!), enabled: id !== undefined, refetchInterval: POLL_MS });

/** Every change to a host can change the list (flags, capacity, order): ask again once it lands. */
function useRefresh() {
  const queryClient = useQueryClient();
  return () => queryClient.invalidateQueries({ queryKey: keys.adminHosts });
}

export function useCreateHost() {
  const refresh = useRefresh();
  return useMutation({ mutationFn: (body: CreateHostRequest) => client.admin.hosts.create(body), onSuccess: refresh });
}

export function useUpdateHost() {
  const refresh = useRefresh();
  return useMutation({
    mutationFn: ({ id, body }: { id: number; name: string; body: UpdateHostRequest }) => client.admin.hosts.update(id, body),
    onSuccess: refresh,
  });
}

export function useRemoveHost() {
  const refresh = useRefresh();
  // Refused (409) or already gone (404): its VMs or the list changed, so refresh either way.
  return useMutation({ mutationFn: (id: number) => client.admin.hosts.remove(id), onSettled: refresh });
}

export function useMigrateVm() {
  const refresh = useRefresh();
  // Refused (409) or failed, the lists may still have changed meanwhile: refresh either way.
  return useMutation({
    mutationFn: async ({ vmId, body }: { vmId: number; body: MigrateVmRequest }) => untilActionEnds(client.actions.get, await client.admin.hosts.migrateVm(vmId, body)),
    onSettled: refresh,
  });
}
