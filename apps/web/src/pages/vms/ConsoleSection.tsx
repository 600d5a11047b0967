import { useQueryClient } from '@tanstack/react-query';
import type { TerminalKind, Vm } from '@twarga/contract';
import { lazy, Suspense, useCallback, useState } from 'react';
import { Link } from 'react-router';
import { Section } from '../../components/Section';
import { Spinner } from '../../components/Spinner';
import { link } from '../../components/ui';
import { refreshTerminalSessions } from '../terminals/queries';
import { KindSwitch } from './KindSwitch';

// xterm.js is loaded only on pages that show a terminal.
const TerminalView = lazy(() => import('../../terminal/TerminalView'));

/** Same size and colour as the terminal frame, so nothing jumps while xterm.js loads. */
export function TerminalPlaceholder({ className }: { className: string }) {
  return (
    <div role="status" className={`flex items-center justify-center gap-2 rounded-xl border border-slate-300 bg-[#0b1120] text-sm text-slate-300 dark:border-slate-700 ${className}`}>
      <Spinner />
      Loading the terminal…
    </div>
  );
}

/**
 * The browser console on the VM page. It connects on the first click only (each connection is
 * a recorded session); after that, switching Serial/SSH connects the other one straight away.
 */
export function ConsoleSection({ vm }: { vm: Vm }) {
  const queryClient = useQueryClient();
  const [kind, setKind] = useState<TerminalKind>('serial');
  const [wanted, setWanted] = useState(false);
  const refresh = useCallback(() => refreshTerminalSessions(queryClient, vm.id), [queryClient, vm.id]);
  const size = 'h-[22rem] sm:h-[26rem]';

  return (
    <Section title="Console" description="A terminal in your browser: the VM’s serial console, or an SSH session. Copy with Ctrl+Shift+C, paste with Ctrl+Shift+V.">
      <div className="mb-3 flex flex-wrap items-center justify-between gap-3">
        <KindSwitch value={kind} onChange={setKind} />
        <Link to={`/vms/${vm.id}/console?kind=${kind}`} className={`${link} inline-flex items-center gap-1 text-sm`}>
          Open in full window
          <svg viewBox="0 0 20 20" className="h-4 w-4" fill="none" stroke="currentColor" strokeWidth="1.8" aria-hidden="true">
            <path d="M8 4H4v12h12v-4M11 4h5v5M16 4l-7 7" strokeLinecap="round" strokeLinejoin="round" />
          </svg>
        </Link>
      </div>
      <Suspense fallback={<TerminalPlaceholder className={size} />}>
        <TerminalView key={kind} vm={vm} kind={kind} autoConnect={wanted} onConnectClick={() => setWanted(true)} onSessionChange={refresh} className={size} />
      </Suspense>
    </Section>
  );
}
