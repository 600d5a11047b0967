import { useQuery } from '@tanstack/react-query';
import { client, keys } from '../../api';

/** Images and sizes change rarely: share one answer for a minute between pages. */
/** Refreshed every 3 s while an image builds or downloads, so its progress (and then its card) comes alive. */
export const useImages = () =>
  useQuery({
    queryKey: keys.images,
    queryFn: client.images.list,
    staleTime: 60_000,
    refetchInterval: (q) => (q.state.data?.some((i) => i.status === 'building' || i.status === 'downloading') ? 3000 : false),
  });
export const useSizes = () => useQuery({ queryKey: keys.sizes, queryFn: client.sizes.list, staleTime: 60_000 });
export const useVms = () => useQuery({ queryKey: keys.vms, queryFn: client.vms.list });
export const useVm = (id: number) => useQuery({ queryKey: keys.vm(id), queryFn: () => client.vms.get(id), enabled: Number.isInteger(id) && id > 0 });
export const useVmActions = (id: number) => useQuery({ queryKey: keys.vmActions(id), queryFn: () => client.vms.actions(id), enabled: Number.isInteger(id) && id > 0 });
export const useActionLog = (actionId: number, enabled: boolean) => useQuery({ queryKey: keys.actionLog(actionId), queryFn: () => client.actions.log(actionId), enabled });
export const useSshKeys = () => useQuery({ queryKey: keys.sshKeys, queryFn: client.account.keys.list });
/** One VM's snapshots with the user's snapshot quota and price; all of the user's snapshots. */
export const useVmSnapshots = (id: number) => useQuery({ queryKey: keys.vmSnapshots(id), queryFn: () => client.vms.snapshots(id), enabled: Number.isInteger(id) && id > 0 });
export const useSnapshots = () => useQuery({ queryKey: keys.snapshots, queryFn: client.snapshots.list });
