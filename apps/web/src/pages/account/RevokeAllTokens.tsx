import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { client, errorMessage } from '../../api';
import { Alert } from '../../components/Alert';
import { Dialog } from '../../components/Dialog';
import { Spinner } from '../../components/Spinner';
import { button } from '../../components/ui';

/**
 * "Revoke all tokens", behind a confirmation: for when a token may have leaked and it is not
 * clear which one. The browser session is not a token and stays logged in.
 */
export function RevokeAllTokens({ count, onRevoked }: { count: number; onRevoked: (revoked: number) => Promise<void> }) {
  const [open, setOpen] = useState(false);
  const revokeAll = useMutation({
    mutationFn: () => client.account.tokens.revokeAll(),
    onSuccess: async ({ revoked }) => {
      setOpen(false);
      await onRevoked(revoked);
    },
  });
  const close = () => {
    setOpen(false);
    revokeAll.reset();
  };

  return (
    <>
      <button type="button" className={button.dangerGhost} onClick={() => setOpen(true)}>
        Revoke all tokens
      </button>
      <Dialog open={open} onClose={close} title="Revoke all API tokens?">
        <p className="text-sm text-slate-700 dark:text-slate-300">
          {count === 1 ? 'Your token stops' : `Your ${count} tokens stop`} working at once, and so does every script or CLI that uses{' '}
          {count === 1 ? 'it' : 'them'}. You stay logged in here. This cannot be undone.
        </p>
        {revokeAll.isError && <Alert className="mt-4">{errorMessage(revokeAll.error)}</Alert>}
        <div className="mt-6 flex flex-wrap justify-end gap-3">
          <button type="button" className={button.secondary} onClick={close} autoFocus>
            Cancel
          </button>
          <button type="button" className={button.danger} disabled={revokeAll.isPending} onClick={() => revokeAll.mutate()}>
            {revokeAll.isPending && <Spinner />}
            {revokeAll.isPending ? 'Revoking…' : 'Yes, revoke all'}
          </button>
        </div>
      </Dialog>
    </>
  );
}
