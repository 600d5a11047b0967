/** Units of the charts and metric cards. Every formatter takes null (nothing measured) and says "—". */

const PREFIXES = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 1536 → "1.5 KiB": binary prefixes, as memory and disks are counted. */
export function formatBytes(n: number | null | undefined, digits = 1): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  let v = Math.abs(n);
  let i = 0;
  while (v >= 1024 && i < PREFIXES.length - 1) {
    v /= 1024;
    i++;
  }
  const shown = i === 0 ? String(Math.round(v)) : v.toFixed(v >= 100 ? 0 : digits);
  return `${n < 0 ? '−' : ''}${shown} ${PREFIXES[i]}`;
}

/** Bytes per second: "12.3 KiB/s". */
export const formatRate = (n: number | null | undefined) => (n === null || n === undefined || !Number.isFinite(n) ? '—' : `${formatBytes(n)}/s`);

/** "42.5 %" (one decimal below 10, none above). */
export function formatPercent(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return `${n < 10 ? n.toFixed(1) : Math.round(n)} %`;
}

/** Plain numbers such as load averages: "0.42". */
export const formatPlain = (n: number | null | undefined) => (n === null || n === undefined || !Number.isFinite(n) ? '—' : n.toFixed(2));

/** Counts (events per hour): whole numbers as they are, fractions (axis ticks) with one decimal. */
export const formatCount = (n: number | null | undefined) => (n === null || n === undefined || !Number.isFinite(n) ? '—' : Number.isInteger(n) ? n.toLocaleString() : n.toFixed(1));

export type Unit = 'percent' | 'bytes' | 'rate' | 'plain' | 'count';

export const formatUnit: Record<Unit, (n: number | null | undefined) => string> = {
  percent: formatPercent,
  bytes: formatBytes,
  rate: formatRate,
  plain: formatPlain,
  count: formatCount,
};

/** used / total as a percentage, or null when either is unknown (never a made-up 0). */
export function percentOf(used: number | null | undefined, total: number | null | undefined): number | null {
  if (used === null || used === undefined || !total) return null;
  return (100 * used) / total;
}
