import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { XTERM_THEME } from './palette';

export interface XtermShortcuts {
  copy(): void;
}

/**
 * An xterm.js terminal opened in `parent`, with the fit addon loaded. xterm 6 renders rows as DOM
 * (.xterm-rows) unless a WebGL addon is loaded: we keep it that way, it is light and readable by
 * tests and browser find.
 */
export function createXterm(parent: HTMLElement, shortcuts: XtermShortcuts): { term: Terminal; fit: FitAddon } {
  const small = window.matchMedia('(max-width: 640px)').matches;
  const term = new Terminal({
    // The console stays dark in both themes, like the SSH command box.
    theme: XTERM_THEME,
    fontFamily: 'ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace',
    fontSize: small ? 12 : 14,
    lineHeight: 1.15,
    cursorBlink: true,
    scrollback: 5000,
    allowProposedApi: false,
  });
  term.attachCustomKeyEventHandler((e) => {
    if (e.type !== 'keydown' || !e.ctrlKey || !e.shiftKey || e.altKey || e.metaKey) return true;
    if (e.code === 'KeyC') {
      // Ctrl+C stays "interrupt" for the shell; Ctrl+Shift+C copies, as in Linux terminals.
      e.preventDefault();
      shortcuts.copy();
      return false;
    }
    // Ctrl+Shift+V: let the browser paste; xterm reads the paste event (no clipboard permission needed).
    if (e.code === 'KeyV') return false;
    return true;
  });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(parent);
  return { term, fit };
}

/** Writes a dim closing note (session ended…) on a fresh line and hides the cursor until the next session. */
export function writeClosingNote(term: Terminal, text: string): void {
  term.write(`\r\n\x1b[2m── ${text} ──\x1b[0m\r\n\x1b[?25l`);
}
