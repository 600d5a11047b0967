import type { Image, Size, Vm } from '@twarga/contract';
import { formatNumber } from '../../format';

import { VM_NAME_PATTERN } from '@twarga/contract/browser';

export { USER_DATA_MAX_BYTES } from '@twarga/contract/browser';
export const VM_NAME_RE = new RegExp(VM_NAME_PATTERN);

/** 512 → "512 MB", 1024 → "1 GB", 1536 → "1.5 GB" (the API counts MiB). */
export function formatMemory(mib: number): string {
  if (mib < 1024) return `${formatNumber(mib)} MB`;
  return `${formatNumber(Math.round((mib / 1024) * 10) / 10)} GB`;
}

/** "1 vCPU" / "2 vCPUs". */
export const formatCpus = (n: number) => `${formatNumber(n)} ${n === 1 ? 'vCPU' : 'vCPUs'}`;

/** "512 MB · 1 vCPU · 10 GB disk" */
export const formatResources = (ram: number, cpu: number, disk: number) => `${formatMemory(ram)} · ${formatCpus(cpu)} · ${formatNumber(disk)} GB disk`;

/** "2 credits/hour" (1 credit/hour). */
export const formatPrice = (perHour: number) => `${formatNumber(perHour)} ${perHour === 1 ? 'credit' : 'credits'}/hour`;

/** 59 → "59 s", 3720 → "1 h 2 min", 200000 → "2 d 7 h". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

/** Seconds the VM has been up, counted from booted_at so it keeps ticking between events. */
export function uptimeSeconds(vm: Vm, now: number): number | null {
  if (vm.status !== 'running') return null;
  if (vm.booted_at) return Math.max(0, (now - Date.parse(vm.booted_at)) / 1000);
  return vm.uptime_seconds;
}

export function formatUptime(vm: Vm, now: number): string {
  const s = uptimeSeconds(vm, now);
  return s === null ? '—' : formatDuration(s);
}

/** "Ubuntu 22.04" when the image is known, else its slug. */
export function imageLabel(slug: string, images: Image[] | undefined): string {
  const image = images?.find((i) => i.slug === slug);
  return image ? `${image.distribution} ${image.version}`.trim() : slug;
}

/** The size slug, or "Custom" for VMs made with RAM/CPU/disk. */
export const sizeLabel = (vm: Vm) => vm.size ?? 'Custom';

/** Cheapest first, then the smallest memory. */
export const bySmallest = (a: Size, b: Size) => a.price_hourly - b.price_hourly || a.memory - b.memory || a.disk - b.disk;

/** UTF-8 length, as the server counts it. */
export const byteLength = (s: string) => new TextEncoder().encode(s).length;
