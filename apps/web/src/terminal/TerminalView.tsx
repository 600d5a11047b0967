import type { TerminalKind, Vm } from '@twarga/contract';
import type { Terminal } from '@xterm/xterm';
import { useCallback, useEffect, useRef, useState } from 'react';
import { copyText, readClipboardText } from '../clipboard';
import { consoleAvailable, consoleUnavailableReason } from './consoleAvailability';
import { createXterm } from './createXterm';
import { frameButton, TerminalToolbar } from './TerminalToolbar';
import { useTerminalSession } from './useTerminalSession';

export interface TerminalViewProps {
  vm: Vm;
  kind: TerminalKind;
  /** Connect as soon as the VM runs (the full-window page); otherwise wait for a click. */
  autoConnect?: boolean;
  /** The user clicked Connect or Reconnect. */
  onConnectClick?: () => void;
  /** A session started or ended: session lists are out of date. */
  onSessionChange?: () => void;
  /** Sizes the frame (a height, or flex-1 in a full-window layout). */
  className?: string;
}

const KIND_HINTS: Record<TerminalKind, string> = {
  serial: 'The VM’s serial port, shared by everyone watching it: the boot log first, then a login prompt. Press Enter if it stays quiet.',
  ssh: 'A shell as the VM’s SSH user, opened by Twarga Cloud with its own key. Needs the VM’s SSH server to be up.',
};

const CONNECT_LABELS: Record<TerminalKind, string> = { serial: 'Connect to the serial console', ssh: 'Open an SSH session' };

/** The browser terminal: xterm.js fitted to its frame, one session at a time, with a status line. */
export default function TerminalView({ vm, kind, autoConnect = false, onConnectClick, onSessionChange, className = 'h-96' }: TerminalViewProps) {
  const hostRef = useRef<HTMLDivElement>(null);
  const [term, setTerm] = useState<Terminal | null>(null);
  const [notice, setNotice] = useState<string>();
  const lastSelection = useRef('');
  const copyRef = useRef<() => void>(() => undefined);
  const { phase, latency, connect, disconnect } = useTerminalSession(term, vm.id, kind, onSessionChange);
  const available = consoleAvailable(vm);

  // One xterm per mount, refitted whenever its box changes size (window, sidebar, phone rotation).
  useEffect(() => {
    const host = hostRef.current;
    if (!host) return;
    const { term, fit } = createXterm(host, { copy: () => copyRef.current() });
    const selection = term.onSelectionChange(() => {
      if (term.hasSelection()) lastSelection.current = term.getSelection();
    });
    const fitNow = () => {
      if (host.clientWidth > 0 && host.clientHeight > 0) fit.fit();
    };
    let frame = 0;
    const refit = () => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(fitNow);
    };
    const observer = new ResizeObserver(refit);
    observer.observe(host);
    // Fitted before anyone connects, so the session starts at the right size.
    fitNow();
    setTerm(term);
    return () => {
      observer.disconnect();
      cancelAnimationFrame(frame);
      selection.dispose();
      setTerm(null);
      term.dispose();
    };
  }, []);

  useEffect(() => {
    if (autoConnect && available && term && phase.state === 'idle') connect();
  }, [autoConnect, available, term, phase.state, connect]);

  // Notices (Copied…) fade after a moment.
  useEffect(() => {
    if (!notice) return;
    const timer = setTimeout(() => setNotice(undefined), 2500);
    return () => clearTimeout(timer);
  }, [notice]);

  const copy = useCallback(async () => {
    const text = term?.getSelection() || lastSelection.current;
    if (!text) return setNotice('Select text in the terminal first');
    setNotice((await copyText(text)) ? 'Copied' : 'Copy blocked by the browser');
  }, [term]);
  useEffect(() => {
    copyRef.current = () => void copy();
  }, [copy]);

  const paste = async () => {
    // Focus first: the next key pressed belongs to the terminal, not to this button.
    term?.focus();
    const text = await readClipboardText();
    if (text === undefined) setNotice('Paste blocked: click the terminal and press Ctrl+Shift+V');
    else if (text) term?.paste(text);
  };

  const start = () => {
    onConnectClick?.();
    connect();
  };

  const unavailable = phase.state !== 'connected' && phase.state !== 'connecting' ? consoleUnavailableReason(vm) : undefined;
  const askToConnect = !unavailable && !autoConnect && phase.state === 'idle';

  return (
    <div className={`flex flex-col overflow-hidden rounded-xl border border-slate-300 bg-[#0b1120] shadow-sm dark:border-slate-700 ${className}`}>
      <TerminalToolbar
        phase={phase}
        latency={latency}
        canConnect={available && term !== null}
        notice={notice}
        onCopy={() => void copy()}
        onPaste={() => void paste()}
        onConnect={start}
        onDisconnect={disconnect}
      />
      <div className="relative min-h-0 flex-1 py-2 pl-3 pr-1">
        <div ref={hostRef} data-testid="terminal" className="h-full w-full" />
        {(unavailable || askToConnect) && (
          <div className="absolute inset-0 flex flex-col items-center justify-center gap-4 bg-[#0b1120]/90 p-6 text-center">
            {unavailable ? (
              <p className="max-w-sm text-sm font-medium text-slate-200">{unavailable}</p>
            ) : (
              <>
                <p className="max-w-md text-sm text-slate-300">{KIND_HINTS[kind]}</p>
                <button type="button" className={`${frameButton.primary} px-4 py-2 text-sm`} onClick={start} disabled={!term}>
                  {CONNECT_LABELS[kind]}
                </button>
              </>
            )}
          </div>
        )}
      </div>
    </div>
  );
}
