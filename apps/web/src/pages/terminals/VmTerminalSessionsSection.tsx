import type { TerminalSession } from '@twarga/contract';
import { useState } from 'react';
import { errorMessage } from '../../api';
import { Alert } from '../../components/Alert';
import { EmptyList } from '../../components/EmptyState';
import { Section } from '../../components/Section';
import { SkeletonRows } from '../../components/Spinner';
import { button, table } from '../../components/ui';
import { formatDateTime } from '../../format';
import { useNow } from '../vms/useNow';
import { EndSessionDialog } from './EndSessionDialog';
import { formatBytes, recordingUrl, sessionDuration } from './format';
import { useVmTerminalSessions } from './queries';
import { ReplayDialog } from './ReplayDialog';
import { KindBadge, SessionStateBadge } from './SessionBits';

const muted = 'text-slate-600 dark:text-slate-400';

function SessionRow({ s, now, onReplay, onEnd }: { s: TerminalSession; now: number; onReplay: () => void; onEnd: () => void }) {
  const label = <span className="sr-only"> session #{s.id}</span>;
  return (
    <tr>
      <td className={`${table.td} whitespace-nowrap`}>
        <span className="font-medium text-slate-900 dark:text-white">{s.username ?? '—'}</span>
        <span className={`block text-xs ${muted}`}>#{s.id}</span>
        {/* Phones: kind and state under the user, their own columns are hidden. */}
        <span className="mt-1 flex flex-wrap gap-1 sm:hidden">
          <KindBadge kind={s.kind} />
          <SessionStateBadge session={s} />
        </span>
      </td>
      <td className={`${table.td} hidden sm:table-cell`}>
        <KindBadge kind={s.kind} />
      </td>
      <td className={`${table.td} sm:whitespace-nowrap`}>
        {formatDateTime(s.started_at)}
        <span className={`block text-xs md:hidden ${muted}`}>{sessionDuration(s, now)}</span>
      </td>
      <td className={`${table.td} hidden whitespace-nowrap tabular-nums md:table-cell`}>{sessionDuration(s, now)}</td>
      <td className={`${table.td} hidden sm:table-cell`}>
        <SessionStateBadge session={s} />
      </td>
      <td className={`${table.td} hidden whitespace-nowrap text-xs tabular-nums lg:table-cell`}>
        {s.active ? (
          <span className={muted} title="Counted when the session ends">—</span>
        ) : (
          <>
            <span title="Typed into the terminal">↑ {formatBytes(s.bytes_in)}</span>
            <span className={`block ${muted}`} title="Printed by the VM">↓ {formatBytes(s.bytes_out)}</span>
          </>
        )}
      </td>
      <td className={`${table.td} hidden font-mono text-xs lg:table-cell`}>{s.source_ip ?? '—'}</td>
      <td className={`${table.td} whitespace-nowrap text-right`}>
        <div className="flex flex-col items-end gap-1 sm:flex-row sm:justify-end">
          {s.active ? (
            <button type="button" className={button.dangerGhost} onClick={onEnd}>
              End{label}
            </button>
          ) : s.recording.available ? (
            <>
              <button type="button" className={button.ghost} onClick={onReplay}>
                Replay{label}
              </button>
              <a href={recordingUrl(s.id)} download className={button.ghost} title="Download the asciicast (.cast) file">
                Download{label}
              </a>
            </>
          ) : (
            <span className={`px-3 text-xs ${muted}`}>No recording</span>
          )}
        </div>
      </td>
    </tr>
  );
}

/** Who opened a terminal on this VM, when, for how long, and the recordings to replay. */
export function VmTerminalSessionsSection({ vmId }: { vmId: number }) {
  const sessions = useVmTerminalSessions(vmId);
  const now = useNow(10_000);
  const [replaying, setReplaying] = useState<TerminalSession>();
  const [ending, setEnding] = useState<TerminalSession>();
  const rows = sessions.data ? [...sessions.data.active, ...sessions.data.recent] : [];

  return (
    <Section title="Terminal sessions" description="Console and SSH sessions opened from the browser. Their output is recorded for replay.">
      {sessions.isPending && <SkeletonRows label="Loading terminal sessions…" rows={2} />}
      {sessions.isError && <Alert>Could not load the terminal sessions: {errorMessage(sessions.error)}</Alert>}
      {sessions.isSuccess && rows.length === 0 && <EmptyList>No terminal sessions yet</EmptyList>}
      {rows.length > 0 && (
        <div className={table.wrap}>
          <table className={table.table}>
            <caption className="sr-only">Terminal sessions on this VM, live ones first</caption>
            <thead>
              <tr>
                <th scope="col" className={table.th}>User</th>
                <th scope="col" className={`${table.th} hidden sm:table-cell`}>Kind</th>
                <th scope="col" className={table.th}>Started</th>
                <th scope="col" className={`${table.th} hidden md:table-cell`}>Duration</th>
                <th scope="col" className={`${table.th} hidden sm:table-cell`}>State</th>
                <th scope="col" className={`${table.th} hidden lg:table-cell`}>Bytes</th>
                <th scope="col" className={`${table.th} hidden lg:table-cell`}>Source IP</th>
                <th scope="col" className={table.th}>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody className={table.tbody}>
              {rows.map((s) => (
                <SessionRow key={s.id} s={s} now={now} onReplay={() => setReplaying(s)} onEnd={() => setEnding(s)} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ReplayDialog session={replaying} onClose={() => setReplaying(undefined)} />
      <EndSessionDialog session={ending} onClose={() => setEnding(undefined)} />
    </Section>
  );
}
