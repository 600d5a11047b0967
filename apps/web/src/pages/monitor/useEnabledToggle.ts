import { useMutation, useQueryClient, type QueryKey } from '@tanstack/react-query';

/**
 * An "enabled" checkbox for a cached list: the box flips at once, a refused change puts it back,
 * and the list is fetched again either way.
 */
export function useEnabledToggle<T extends { id: number; enabled: boolean }>(queryKey: QueryKey, save: (item: T, enabled: boolean) => Promise<unknown>) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (item: T) => save(item, !item.enabled),
    onMutate: async (item: T) => {
      await queryClient.cancelQueries({ queryKey });
      const before = queryClient.getQueryData<T[]>(queryKey);
      queryClient.setQueryData<T[]>(queryKey, (list) => list?.map((x) => (x.id === item.id ? { ...x, enabled: !item.enabled } : x)));
      return { before };
    },
    onError: (_e, _item, ctx) => queryClient.setQueryData(queryKey, ctx?.before),
    onSettled: () => queryClient.invalidateQueries({ queryKey }),
  });
}
