import { useQueryClient } from '@tanstack/react-query';
import type { TerminalKind } from '@twarga/contract/browser';
import type { Terminal } from '@xterm/xterm';
import { useCallback, useEffect, useRef, useState } from 'react';
import { keys } from '../api';
import { writeClosingNote } from './createXterm';
import { endSentence } from './describeEnd';
import { TerminalSocket, type ReadyMessage, type TerminalEnd } from './terminalSocket';

export type TerminalPhase =
  | { state: 'idle' }
  | { state: 'connecting' }
  | { state: 'connected'; ready: ReadyMessage }
  | { state: 'ended'; end: TerminalEnd };

const bytesOf = (binary: string) => Uint8Array.from(binary, (c) => c.charCodeAt(0));

/**
 * Wires an xterm to one TerminalSocket at a time: keystrokes and resizes out, output in, and the
 * connection's phase for the status line. connect() always starts over with a fresh ticket.
 */
export function useTerminalSession(term: Terminal | null, vmId: number, kind: TerminalKind, onSessionChange?: () => void) {
  const queryClient = useQueryClient();
  const [phase, setPhase] = useState<TerminalPhase>({ state: 'idle' });
  const [latency, setLatency] = useState<number>();
  const socketRef = useRef<TerminalSocket | null>(null);
  /**
   * True while xterm parses the replayed serial scrollback: it answers queries it finds there
   * (a shell's old "where is the cursor?" becomes ESC[19;5R), and those answers must not reach
   * the live console as if typed.
   */
  const replaying = useRef(false);
  // The latest callback without reconnecting when the parent re-renders.
  const onChange = useRef(onSessionChange);
  useEffect(() => {
    onChange.current = onSessionChange;
  });

  const connect = useCallback(() => {
    if (!term) return;
    // Forget the old connection first, so its end is not reported over the new one.
    const previous = socketRef.current;
    socketRef.current = null;
    previous?.close();
    term.reset();
    setLatency(undefined);
    setPhase({ state: 'connecting' });
    replaying.current = false;
    let scrollbackLeft = 0;
    const socket: TerminalSocket = new TerminalSocket(
      { vmId, kind, cols: term.cols, rows: term.rows },
      {
        onReady: (ready) => {
          if (socketRef.current !== socket) return;
          scrollbackLeft = ready.scrollback_bytes;
          replaying.current = scrollbackLeft > 0;
          setPhase({ state: 'connected', ready });
          // The window may have changed size while the ticket was on its way.
          socket.resize(term.cols, term.rows);
          term.focus();
          onChange.current?.();
        },
        onOutput: (bytes) => {
          if (socketRef.current !== socket) return;
          if (scrollbackLeft > 0) {
            const head = bytes.subarray(0, scrollbackLeft);
            scrollbackLeft -= head.length;
            const endOfReplay = () => {
              if (socketRef.current === socket) replaying.current = false;
            };
            term.write(head, scrollbackLeft === 0 ? endOfReplay : undefined);
            bytes = bytes.subarray(head.length);
          }
          if (bytes.length) term.write(bytes);
        },
        onLatency: (ms) => {
          if (socketRef.current === socket) setLatency(ms);
        },
        onEnd: (end) => {
          if (socketRef.current !== socket) return;
          socketRef.current = null;
          setPhase({ state: 'ended', end });
          if (end.kind !== 'refused') writeClosingNote(term, endSentence(end));
          // The sign-in expired: re-checking who we are sends the page to /login.
          if (end.kind === 'refused' && end.status === 401) void queryClient.invalidateQueries({ queryKey: keys.me });
          // Access was revoked (signed out elsewhere, account disabled, rights removed): the same re-check.
          if (end.kind === 'exit' && end.reason === 'access_revoked') void queryClient.invalidateQueries({ queryKey: keys.me });
          onChange.current?.();
        },
      },
    );
    socketRef.current = socket;
  }, [term, vmId, kind, queryClient]);

  const disconnect = useCallback(() => socketRef.current?.close(), []);

  // Keystrokes and size changes go to whichever socket is current.
  useEffect(() => {
    if (!term) return;
    const subs = [
      term.onData((data) => !replaying.current && socketRef.current?.send(data)),
      term.onBinary((data) => !replaying.current && socketRef.current?.send(bytesOf(data))),
      term.onResize(({ cols, rows }) => socketRef.current?.resize(cols, rows)),
    ];
    return () => subs.forEach((s) => s.dispose());
  }, [term]);

  // Leaving the page (or a new xterm) ends the session; the server records it as "closed".
  useEffect(
    () => () => {
      const socket = socketRef.current;
      if (!socket) return;
      socketRef.current = null;
      socket.close();
      setPhase({ state: 'idle' });
      onChange.current?.();
    },
    [term],
  );

  return { phase, latency, connect, disconnect };
}
