import { useMutation, useQueryClient, type QueryKey } from '@tanstack/react-query';
import { useState } from 'react';

/**
 * Delete after a confirmation: `ask(item)` opens the dialog, `confirm()` deletes it and reloads the
 * list, `close()` forgets the item and any refusal shown.
 */
export function useConfirmedRemove<T extends { id: number }>(queryKey: QueryKey, remove: (id: number) => Promise<unknown>) {
  const queryClient = useQueryClient();
  const [target, setTarget] = useState<T>();
  const mutation = useMutation({
    mutationFn: remove,
    onSuccess: async () => {
      setTarget(undefined);
      await queryClient.invalidateQueries({ queryKey });
    },
  });
  return {
    target,
    ask: setTarget,
    close: () => {
      setTarget(undefined);
      mutation.reset();
    },
    confirm: () => target && mutation.mutate(target.id),
    pending: mutation.isPending,
    error: mutation.error,
  };
}
