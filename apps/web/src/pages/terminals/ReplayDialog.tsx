import { useQuery } from '@tanstack/react-query';
import type { TerminalSession } from '@twarga/contract';
import { lazy, Suspense } from 'react';
import { client, errorMessage } from '../../api';
import { Alert } from '../../components/Alert';
import { Dialog } from '../../components/Dialog';
import { Loading } from '../../components/Spinner';
import { button, link } from '../../components/ui';
import { formatDateTime } from '../../format';
import { formatBytes, recordingUrl } from './format';
import { KIND_NAMES } from './SessionBits';

const AsciinemaReplay = lazy(() => import('../../terminal/AsciinemaReplay'));

function Player({ session }: { session: TerminalSession }) {
  // Recordings never change once the session has ended.
  const cast = useQuery({ queryKey: ['terminal-recording', session.id], queryFn: () => client.terminal.recording(session.id), staleTime: Infinity });
  if (cast.isPending) return <Loading label="Loading the recording…" />;
  if (cast.isError) return <Alert>Could not load the recording: {errorMessage(cast.error)}</Alert>;
  return (
    <Suspense fallback={<Loading label="Loading the player…" />}>
      <AsciinemaReplay cast={cast.data} title={`Recording of terminal session #${session.id}`} />
    </Suspense>
  );
}

/** Plays a session's recording in the page, with a download link for the .cast file. */
export function ReplayDialog({ session, onClose }: { session: TerminalSession | undefined; onClose: () => void }) {
  return (
    <Dialog wide open={session !== undefined} onClose={onClose} title={`Replay of session #${session?.id ?? ''}`}>
      {session && (
        <>
          <p className="mb-4 text-sm text-slate-600 dark:text-slate-400">
            {KIND_NAMES[session.kind]} session of {session.username ?? 'a deleted user'} on {session.vm_name ?? `VM #${session.vm_id}`}, started{' '}
            {formatDateTime(session.started_at)}. Only output is recorded, never keystrokes.
            {session.recording.truncated && ' The recording stopped early: it reached the size limit.'}
          </p>
          <Player session={session} />
          <div className="mt-5 flex flex-wrap items-center justify-between gap-3">
            <a href={recordingUrl(session.id)} download className={`${link} text-sm`}>
              Download .cast ({formatBytes(session.recording.bytes)})
            </a>
            <button type="button" className={button.secondary} onClick={onClose}>
              Close
            </button>
          </div>
        </>
      )}
    </Dialog>
  );
}
