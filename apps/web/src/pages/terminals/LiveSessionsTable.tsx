import type { TerminalSession } from '@twarga/contract';
import { useState } from 'react';
import { Link } from 'react-router';
import { errorMessage } from '../../api';
import { Alert } from '../../components/Alert';
import { EmptyList } from '../../components/EmptyState';
import { Section } from '../../components/Section';
import { SkeletonRows } from '../../components/Spinner';
import { button, link, table } from '../../components/ui';
import { formatDateTime } from '../../format';
import { Forbidden, isForbidden } from '../admin/Forbidden';
import { formatDuration } from '../vms/format';
import { useNow } from '../vms/useNow';
import { EndSessionDialog } from './EndSessionDialog';
import { sessionDuration } from './format';
import { useLiveTerminalSessions } from './queries';
import { KindBadge } from './SessionBits';

const muted = 'text-slate-600 dark:text-slate-400';
const HEADERS = ['VM', 'User', 'Kind', 'Source IP', 'Started', 'Idle limit'];

/** Every live terminal session (an admin sees all of them), refreshed every few seconds. */
export function LiveSessionsTable() {
  const sessions = useLiveTerminalSessions();
  const now = useNow(10_000);
  const [ending, setEnding] = useState<TerminalSession>();

  if (sessions.isError && isForbidden(sessions.error)) return <Forbidden />;
  return (
    <Section title="Live terminal sessions" description="Serial consoles and SSH sessions open in a browser right now. Ending one closes it at once and tells its user.">
      {sessions.isPending && <SkeletonRows label="Loading terminal sessions…" />}
      {sessions.isError && <Alert>Could not load terminal sessions: {errorMessage(sessions.error)}</Alert>}
      {sessions.isSuccess && sessions.data.length === 0 && <EmptyList>No terminal sessions are open</EmptyList>}
      {sessions.isSuccess && sessions.data.length > 0 && (
        <div className={table.wrap}>
          <table className={table.table}>
            <caption className="sr-only">Live terminal sessions</caption>
            <thead>
              <tr>
                {HEADERS.map((h) => (
                  <th key={h} scope="col" className={`${table.th} ${h === 'Source IP' || h === 'Idle limit' ? 'hidden md:table-cell' : ''}`}>
                    {h}
                  </th>
                ))}
                <th scope="col" className={table.th}>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody className={table.tbody}>
              {sessions.data.map((s) => (
                <tr key={s.id}>
                  <td className={`${table.td} whitespace-nowrap`}>
                    <Link to={`/vms/${s.vm_id}`} className={link}>
                      {s.vm_name ?? `VM #${s.vm_id}`}
                    </Link>
                    <span className={`block text-xs ${muted}`}>session #{s.id}</span>
                  </td>
                  <td className={`${table.td} whitespace-nowrap font-medium text-slate-900 dark:text-white`}>{s.username ?? '—'}</td>
                  <td className={table.td}>
                    <KindBadge kind={s.kind} />
                  </td>
                  <td className={`${table.td} hidden font-mono text-xs md:table-cell`}>{s.source_ip ?? '—'}</td>
                  <td className={`${table.td} whitespace-nowrap`}>
                    {formatDateTime(s.started_at)}
                    <span className={`block text-xs ${muted}`}>open for {sessionDuration(s, now)}</span>
                  </td>
                  <td className={`${table.td} hidden whitespace-nowrap md:table-cell`}>
                    {formatDuration(s.idle_timeout_seconds)}
                    <span className={`block text-xs ${muted}`}>max {formatDuration(s.max_duration_seconds)}</span>
                  </td>
                  <td className={`${table.td} whitespace-nowrap text-right`}>
                    <button type="button" className={button.dangerGhost} onClick={() => setEnding(s)}>
                      End<span className="sr-only"> session #{s.id}</span>
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <EndSessionDialog session={ending} onClose={() => setEnding(undefined)} />
    </Section>
  );
}
