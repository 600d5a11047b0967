import type { ITheme } from '@xterm/xterm';

/**
 * The console's colours (Tailwind's palette on a deep navy). replay-theme.css gives the replay
 * player the same ones: keep the two in step.
 */
export const PALETTE = {
  background: '#0b1120',
  foreground: '#e2e8f0',
  cursor: '#a5b4fc',
  selection: 'rgba(129, 140, 248, 0.4)',
  /** ANSI 0–15: black, red, green, yellow, blue, magenta, cyan, white, then the bright ones. */
  ansi: [
    '#1e293b', '#f87171', '#4ade80', '#facc15', '#60a5fa', '#c084fc', '#22d3ee', '#e2e8f0',
    '#64748b', '#fca5a5', '#86efac', '#fde047', '#93c5fd', '#d8b4fe', '#67e8f9', '#f8fafc',
  ],
} as const;

const [black, red, green, yellow, blue, magenta, cyan, white, brightBlack, brightRed, brightGreen, brightYellow, brightBlue, brightMagenta, brightCyan, brightWhite] = PALETTE.ansi;

export const XTERM_THEME: ITheme = {
  background: PALETTE.background,
  foreground: PALETTE.foreground,
  cursor: PALETTE.cursor,
  cursorAccent: PALETTE.background,
  selectionBackground: PALETTE.selection,
  black, red, green, yellow, blue, magenta, cyan, white,
  brightBlack, brightRed, brightGreen, brightYellow, brightBlue, brightMagenta, brightCyan, brightWhite,
};
