import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { TerminalSession } from '@twarga/contract';
import { useEffect } from 'react';
import { client, errorMessage, isApiError } from '../../api';
import { Alert } from '../../components/Alert';
import { Dialog } from '../../components/Dialog';
import { Spinner } from '../../components/Spinner';
import { button } from '../../components/ui';
import { KIND_NAMES } from './SessionBits';
import { refreshTerminalSessions } from './queries';

/** "End session #12?" — closes a live terminal at once (its user sees who ended it). */
export function EndSessionDialog({ session, onClose }: { session: TerminalSession | undefined; onClose: () => void }) {
  const queryClient = useQueryClient();
  const end = useMutation({
    mutationFn: (s: TerminalSession) => client.terminal.end(s.id),
    onSettled: (_r, err, s) => {
      refreshTerminalSessions(queryClient, s.vm_id);
      // Already over (it timed out, or someone else ended it): that is what was wanted.
      if (!err || (isApiError(err) && err.status === 404)) onClose();
    },
  });
  const { reset } = end;
  useEffect(() => reset(), [session?.id, reset]);

  const close = () => !end.isPending && onClose();
  return (
    <Dialog open={session !== undefined} onClose={close} title={`End terminal session #${session?.id ?? ''}?`}>
      {session && (
        <>
          <p className="text-sm text-slate-700 dark:text-slate-300">
            The {KIND_NAMES[session.kind].toLowerCase()} session of <strong>{session.username ?? 'a deleted user'}</strong> on{' '}
            <strong>{session.vm_name ?? `VM #${session.vm_id}`}</strong> closes at once. Its recording is kept.
          </p>
          {end.isError && <Alert className="mt-4">{errorMessage(end.error)}</Alert>}
          <div className="mt-6 flex flex-wrap justify-end gap-3">
            <button type="button" className={button.secondary} onClick={close} autoFocus>
              Cancel
            </button>
            <button type="button" className={button.danger} disabled={end.isPending} onClick={() => end.mutate(session)}>
              {end.isPending && <Spinner />}
              {end.isPending ? 'Ending…' : 'End session'}
            </button>
          </div>
        </>
      )}
    </Dialog>
  );
}
