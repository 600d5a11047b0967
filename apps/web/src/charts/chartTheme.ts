import type { Theme } from '../theme';

/** Chart colours per theme: Tailwind's 600 shades on white, its 400 shades on slate-900. */
export interface ChartPalette {
  axis: string;
  grid: string;
  series: readonly string[];
}

export const CHART_PALETTES: Record<Theme, ChartPalette> = {
  light: { axis: '#475569', grid: 'rgba(148, 163, 184, 0.35)', series: ['#4f46e5', '#059669', '#d97706', '#e11d48', '#0284c7', '#7c3aed'] },
  dark: { axis: '#94a3b8', grid: 'rgba(71, 85, 105, 0.45)', series: ['#818cf8', '#34d399', '#fbbf24', '#fb7185', '#38bdf8', '#a78bfa'] },
};
