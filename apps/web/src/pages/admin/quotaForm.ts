import type { UserQuotaOverrides } from '@twarga/contract';

/** The VM limits and (issue 13) the snapshot limit. */
export type QuotaField = keyof UserQuotaOverrides;

export const QUOTA_FIELDS: { field: QuotaField; label: string; usage: 'vms' | 'ram_mb' | 'vcpus' | 'disk_gb' | 'snapshots'; unit: string; max: number }[] = [
  { field: 'max_vms', label: 'VMs', usage: 'vms', unit: '', max: 10_000 },
  { field: 'max_ram_mb', label: 'RAM (MB)', usage: 'ram_mb', unit: 'MB', max: 16_777_216 },
  { field: 'max_vcpus', label: 'vCPUs', usage: 'vcpus', unit: '', max: 100_000 },
  { field: 'max_disk_gb', label: 'Disk (GB)', usage: 'disk_gb', unit: 'GB', max: 1_000_000 },
  { field: 'max_snapshots', label: 'Snapshots', usage: 'snapshots', unit: '', max: 10_000 },
];

export type QuotaDraft = Record<QuotaField, string>;

/** The overrides as form text: '' for "the server's default". */
export const quotaDraft = (o: UserQuotaOverrides): QuotaDraft => ({
  max_vms: o.max_vms === null ? '' : String(o.max_vms),
  max_ram_mb: o.max_ram_mb === null ? '' : String(o.max_ram_mb),
  max_vcpus: o.max_vcpus === null ? '' : String(o.max_vcpus),
  max_disk_gb: o.max_disk_gb === null ? '' : String(o.max_disk_gb),
  max_snapshots: o.max_snapshots === null ? '' : String(o.max_snapshots),
});

/**
 * The form's text as the PATCH body: an empty field is null (back to the server's default), a
 * number is the override. Errors per field when a value is no whole number in range.
 */
export function checkQuota(d: QuotaDraft): { errors: Partial<Record<QuotaField, string>>; body: UserQuotaOverrides } {
  const errors: Partial<Record<QuotaField, string>> = {};
  const body: UserQuotaOverrides = { max_vms: null, max_ram_mb: null, max_vcpus: null, max_disk_gb: null, max_snapshots: null };
  for (const { field, label, max } of QUOTA_FIELDS) {
    const raw = d[field].trim();
    if (raw === '') continue;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n)) errors[field] = `${label}: enter a whole number of 0 or more, or leave it empty for the server's default.`;
    else if (n > max) errors[field] = `${label}: at most ${max.toLocaleString('en')}.`;
    else body[field] = n;
  }
  return { errors, body };
}
