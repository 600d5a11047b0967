import type { TerminalKind } from '@twarga/contract/browser';
import type { ReactNode } from 'react';
import { Spinner } from '../components/Spinner';
import { endSentence } from './describeEnd';
import type { TerminalPhase } from './useTerminalSession';

/** Buttons on the always-dark terminal frame (the app's button styles assume a light or dark page). */
const ring = 'focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-400 focus-visible:ring-offset-1 focus-visible:ring-offset-slate-900';
export const frameButton = {
  ghost: `inline-flex items-center gap-1.5 rounded-md px-2.5 py-1 text-xs font-medium text-slate-300 hover:bg-white/10 hover:text-white disabled:cursor-not-allowed disabled:opacity-50 ${ring}`,
  primary: `inline-flex items-center gap-1.5 rounded-md bg-indigo-500 px-3 py-1 text-xs font-semibold text-white hover:bg-indigo-400 disabled:cursor-not-allowed disabled:opacity-50 ${ring}`,
};

export const KIND_LABELS: Record<TerminalKind, string> = { serial: 'Serial console', ssh: 'SSH' };

function statusOf(phase: TerminalPhase, latency: number | undefined): { dot: string; text: ReactNode } {
  switch (phase.state) {
    case 'idle':
      return { dot: 'bg-slate-500', text: 'Not connected' };
    case 'connecting':
      return { dot: 'bg-amber-400 animate-pulse', text: 'Connecting…' };
    case 'connected': {
      const { ready } = phase;
      return {
        dot: 'bg-emerald-400',
        text: (
          <>
            Connected · {KIND_LABELS[ready.kind]} · session #{ready.session_id}
            {latency !== undefined && <span className="text-slate-400"> · {latency} ms</span>}
          </>
        ),
      };
    }
    case 'ended': {
      const { end } = phase;
      const failed = end.kind === 'refused' || end.kind === 'dropped' || (end.kind === 'exit' && end.reason === 'backend_error');
      return { dot: failed ? 'bg-red-400' : 'bg-slate-500', text: endSentence(end) };
    }
  }
}

interface ToolbarProps {
  phase: TerminalPhase;
  latency: number | undefined;
  canConnect: boolean;
  notice: string | undefined;
  onCopy(): void;
  onPaste(): void;
  onConnect(): void;
  onDisconnect(): void;
}

/** Status line (what the connection is doing, or why it ended) and the terminal's buttons. */
export function TerminalToolbar({ phase, latency, canConnect, notice, onCopy, onPaste, onConnect, onDisconnect }: ToolbarProps) {
  const { dot, text } = statusOf(phase, latency);
  const live = phase.state === 'connected';
  return (
    <div className="flex flex-wrap items-center gap-x-3 gap-y-1.5 border-b border-white/10 bg-slate-900 px-3 py-2 text-xs text-slate-300">
      <p role="status" data-testid="terminal-status" className="flex min-w-0 flex-1 basis-56 items-center gap-2">
        {phase.state === 'connecting' ? <Spinner className="h-3 w-3 shrink-0 text-amber-300" /> : <span aria-hidden="true" className={`h-2 w-2 shrink-0 rounded-full ${dot}`} />}
        <span className="min-w-0 [overflow-wrap:anywhere]">{text}</span>
      </p>
      <span aria-live="polite" className="text-indigo-200">
        {notice}
      </span>
      <div className="flex items-center gap-1">
        <button type="button" className={frameButton.ghost} onClick={onCopy} title="Copy the selected text (Ctrl+Shift+C)">
          Copy
        </button>
        <button type="button" className={frameButton.ghost} onClick={onPaste} disabled={!live} title="Paste into the terminal (Ctrl+Shift+V)">
          Paste
        </button>
        {(live || phase.state === 'connecting') && (
          <button type="button" className={frameButton.ghost} onClick={onDisconnect}>
            Disconnect
          </button>
        )}
        {/* Before the first connection the terminal area itself offers the Connect button. */}
        {phase.state === 'ended' && (
          <button type="button" className={frameButton.primary} onClick={onConnect} disabled={!canConnect}>
            Reconnect
          </button>
        )}
      </div>
    </div>
  );
}
