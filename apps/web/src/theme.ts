import { useCallback, useSyncExternalStore } from 'react';

export type Theme = 'dark' | 'light';
export const THEME_KEY = 'twarga-theme';

function stored(): Theme | undefined {
  try {
    const v = localStorage.getItem(THEME_KEY);
    return v === 'dark' || v === 'light' ? v : undefined;
  } catch {
    return undefined;
  }
}

const systemQuery = () => window.matchMedia('(prefers-color-scheme: dark)');

/** The theme in effect: the saved choice, else the system's preference. */
export function currentTheme(): Theme {
  return stored() ?? (systemQuery().matches ? 'dark' : 'light');
}

const listeners = new Set<() => void>();

export function applyTheme(theme: Theme): void {
  const root = document.documentElement;
  root.classList.toggle('dark', theme === 'dark');
  root.style.colorScheme = theme;
  listeners.forEach((l) => l());
}

export function setTheme(theme: Theme): void {
  try {
    localStorage.setItem(THEME_KEY, theme);
  } catch {
    // Private mode or storage disabled: the choice lasts for this page only.
  }
  applyTheme(theme);
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  const mq = systemQuery();
  // Without a saved choice, follow the system when it changes.
  const onSystem = () => {
    if (!stored()) applyTheme(mq.matches ? 'dark' : 'light');
  };
  mq.addEventListener('change', onSystem);
  return () => {
    listeners.delete(listener);
    mq.removeEventListener('change', onSystem);
  };
}

const snapshot = (): Theme => (document.documentElement.classList.contains('dark') ? 'dark' : 'light');

export function useTheme(): { theme: Theme; toggle: () => void } {
  const theme = useSyncExternalStore(subscribe, snapshot, () => 'light' as Theme);
  const toggle = useCallback(() => setTheme(snapshot() === 'dark' ? 'light' : 'dark'), []);
  return { theme, toggle };
}
