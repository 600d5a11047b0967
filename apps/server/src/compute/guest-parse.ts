import type { GuestReport } from './driver.js';

/**
 * Turns the guest agent's and the balloon's answers into a GuestReport's parts. Shared by the
 * QEMU and libvirt drivers (both speak the same qemu-ga protocol). Values the guest did not give
 * are left out, never made 0.
 */

type Filesystems = NonNullable<GuestReport['filesystems']>;
type Interfaces = NonNullable<GuestReport['interfaces']>;

const count = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);

/** guest-get-fsinfo: one entry per mounted filesystem that reports its usage (qemu-ga ≥ 5.0). */
export function parseFsInfo(ret: unknown): Filesystems {
  if (!Array.isArray(ret)) return [];
  const out: Filesystems = [];
  for (const fs of ret as Record<string, unknown>[]) {
    const used = count(fs?.['used-bytes']);
    const total = count(fs?.['total-bytes']);
    if (typeof fs?.mountpoint !== 'string' || used === undefined || total === undefined) continue;
    out.push({ mountpoint: fs.mountpoint, type: typeof fs.type === 'string' ? fs.type : 'unknown', usedBytes: used, totalBytes: total });
  }
  return out;
}

/** guest-network-get-interfaces: addresses (without prefix) and the guest's own byte counters. */
export function parseInterfaces(ret: unknown): Interfaces {
  if (!Array.isArray(ret)) return [];
  const out: Interfaces = [];
  for (const iface of ret as Record<string, unknown>[]) {
    if (typeof iface?.name !== 'string') continue;
    const addrs = Array.isArray(iface['ip-addresses']) ? (iface['ip-addresses'] as Record<string, unknown>[]) : [];
    const stats = (iface.statistics ?? {}) as Record<string, unknown>;
    out.push({
      name: iface.name,
      addresses: addrs.map((a) => a?.['ip-address']).filter((a): a is string => typeof a === 'string'),
      rxBytes: count(stats['rx-bytes']) ?? null,
      txBytes: count(stats['tx-bytes']) ?? null,
    });
  }
  return out;
}

/**
 * QMP qom-get guest-stats of the balloon: {stats: {"stat-total-memory": bytes, "stat-available-memory": bytes, …},
 * "last-update": seconds}. Undefined until the guest has answered once (last-update 0) or when it
 * does not report both (-1).
 */
export function parseBalloonStats(ret: unknown): GuestReport['memory'] {
  const r = ret as { stats?: Record<string, unknown>; 'last-update'?: unknown } | undefined;
  if (!r?.stats || !r['last-update']) return undefined;
  const total = count(r.stats['stat-total-memory']);
  const available = count(r.stats['stat-available-memory']);
  if (!total || available === undefined) return undefined;
  return { totalBytes: total, availableBytes: Math.min(available, total) };
}

/**
 * `virsh dommemstat` lines ("actual 262144", "available 241468", "usable 180000", all KiB):
 * libvirt's "available" is the balloon's stat-total-memory, "usable" its stat-available-memory.
 */
export function parseDomMemStat(text: string): GuestReport['memory'] {
  const kib = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^\s*(\S+)\s+(\d+)\s*$/.exec(line);
    if (m) kib.set(m[1]!, Number(m[2]));
  }
  const total = kib.get('available');
  const usable = kib.get('usable');
  if (!total || usable === undefined) return undefined;
  return { totalBytes: total * 1024, availableBytes: Math.min(usable, total) * 1024 };
}
