import { TERMINAL_CLOSE_MEANINGS, type TerminalEndReason, type TerminalServerMessage } from '@twarga/contract';

/** How an attached console ended, as the CLI tells the user. */
export type ConsoleEnd =
  /** The user typed Enter ~ . (or stdin ended). */
  | { kind: 'detached' }
  /** A signal (SIGINT, SIGTERM, SIGHUP) asked us to stop. */
  | { kind: 'signal'; signal: NodeJS.Signals; signo: number }
  /** The server ended the session and said why. */
  | { kind: 'exit'; message: Extract<TerminalServerMessage, { type: 'exit' }> }
  /** The server refused to open the session (bad ticket, VM not running…). */
  | { kind: 'refused'; code: string; message: string }
  /** The websocket closed without a word from the server, or never opened. */
  | { kind: 'dropped'; closeCode?: number; error?: string; wasReady: boolean };

/**
 * End reasons that are an ordinary end of a session (exit code 0): the shell exited, a limit was
 * reached, someone ended it, the VM stopped. The others mean something went wrong (exit code 1).
 */
const NORMAL_ENDS: ReadonlySet<TerminalEndReason> = new Set<TerminalEndReason>([
  'closed', 'exited', 'idle_timeout', 'max_duration', 'ended_by_user', 'ended_by_admin', 'vm_stopped',
]);


const sentence = (s: string) => s.replace(/([^.!?])$/, '$1.');

/** The line printed on stderr when the console ends, and the process exit code. */
export function describeEnd(end: ConsoleEnd): { line: string; exitCode: number } {
  switch (end.kind) {
    case 'detached':
      return { line: 'Detached.', exitCode: 0 };
    case 'signal':
      // The shell convention (128 + signal number): 130 for SIGINT, as the CLI's other commands.
      return { line: `Interrupted by ${end.signal}.`, exitCode: 128 + end.signo };
    case 'exit': {
      const { reason, message, exit_code } = end.message;
      const code = reason === 'exited' && exit_code !== null ? `, exit code ${exit_code}` : '';
      if (NORMAL_ENDS.has(reason)) return { line: `Session ended: ${sentence(message)} (${reason}${code})`, exitCode: 0 };
      return { line: `error: session ended: ${message} (${reason})`, exitCode: 1 };
    }
    case 'refused':
      return { line: `error: could not attach: ${end.message} (${end.code})`, exitCode: 1 };
    case 'dropped': {
      const known = end.closeCode !== undefined ? TERMINAL_CLOSE_MEANINGS[end.closeCode] : undefined;
      const what = known ?? end.error ?? (end.wasReady ? 'the connection to the server was lost' : 'could not open the terminal websocket');
      const code = end.closeCode !== undefined && end.closeCode !== 1005 && end.closeCode !== 1006 ? ` (close code ${end.closeCode})` : '';
      return { line: `error: ${end.wasReady ? 'disconnected' : 'could not attach'}: ${what}${code}`, exitCode: 1 };
    }
  }
}
