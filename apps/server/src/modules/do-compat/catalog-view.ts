import type { Size } from '@twarga/contract';
import type { HostRow } from '../hosts/hosts.repository.js';
import type { ImageRow, ImagesRepository } from '../images/images.repository.js';

/** A DO image, as godo's Image decodes it (images.go). */
export interface DoImage {
  id: number;
  name: string;
  type: 'base';
  distribution: string;
  slug: string;
  public: boolean;
  regions: string[];
  created_at: string;
  min_disk_size: number;
  size_gigabytes: number;
  description: string;
  tags: string[];
  status: 'available' | 'NEW' | 'pending' | 'retired';
  error_message: string;
}

/** A DO size (godo sizes.go). Prices are in our credits (1 credit ≈ the currency unit). */
export interface DoSize {
  slug: string;
  memory: number;
  vcpus: number;
  disk: number;
  transfer: number;
  price_monthly: number;
  price_hourly: number;
  regions: string[];
  available: boolean;
  description: string;
}

/** A DO region (godo regions.go): one per compute host. */
export interface DoRegion {
  slug: string;
  name: string;
  sizes: string[];
  available: boolean;
  features: string[];
}

/** DO bills a month as 730 hours. */
export const HOURS_PER_MONTH = 730;

/**
 * DO's own region slugs: a script that names one gets "anywhere" (the scheduler places the VM),
 * so unchanged scripts work. Any other slug must be one of our host names.
 */
export const DO_REGION_SLUGS: ReadonlySet<string> = new Set([
  'nyc1', 'nyc2', 'nyc3', 'sfo1', 'sfo2', 'sfo3', 'ams2', 'ams3', 'sgp1', 'lon1', 'fra1', 'tor1', 'blr1', 'syd1',
]);

/** ISO 8601 with `Z`, whatever form the database handed the timestamp back in. */
export const doDate = (t: string | Date): string => new Date(t).toISOString();

/** Hosts that take new VMs: the regions a droplet can be created in. */
export const openHostNames = (hosts: readonly HostRow[]): string[] => hosts.filter(isOpen).map((h) => h.name);
const isOpen = (h: HostRow) => Boolean(h.enabled) && !h.draining;

/**
 * Our image states as DO's: listed but never fetched is DO's NEW (like a custom image not yet
 * imported), downloading or building is pending, and a failed download or build is retired (it
 * cannot be used; error_message says so). DO has no error status.
 */
function doImageStatus(status: ImageRow['status']): DoImage['status'] {
  switch (status) {
    case 'available': return 'available';
    case 'pending': return 'NEW';
    case 'downloading':
    case 'building': return 'pending';
    case 'error': return 'retired';
  }
}

/**
 * One catalog image in DO's shape. `regions` are the hosts a droplet of it can be created on;
 * an image that is not available lists none (DO lists where an image can be used).
 * Why a download failed names the admin's network: only `showError` viewers (admins) see it.
 */
export function toDoImage(row: ImageRow, regions: string[], opts: { showError?: boolean } = {}): DoImage {
  const status = doImageStatus(row.status);
  const failed = row.status === 'error';
  return {
    id: Number(row.id),
    name: row.name,
    type: 'base',
    distribution: row.distribution,
    slug: row.slug,
    public: true,
    regions: status === 'available' ? [...regions] : [],
    created_at: doDate(row.created_at),
    min_disk_size: row.min_disk,
    // DO's size_gigabytes is decimal GB with two decimals; unknown until downloaded → 0.
    size_gigabytes: row.size_bytes == null ? 0 : Math.round(Number(row.size_bytes) / 1e7) / 100,
    description: row.name,
    tags: [],
    status,
    error_message: failed ? (opts.showError && row.error ? row.error : 'The image could not be prepared on this server') : '',
  };
}

/** A size in DO's shape: price_monthly = price_hourly × 730 like DO; no metered transfer (0). */
export function toDoSize(size: Size, regions: string[]): DoSize {
  return {
    slug: size.slug,
    memory: size.memory,
    vcpus: size.vcpus,
    disk: size.disk,
    transfer: 0,
    price_monthly: size.price_hourly * HOURS_PER_MONTH,
    price_hourly: size.price_hourly,
    regions: [...regions],
    available: regions.length > 0,
    description: size.description,
  };
}

/**
 * A compute host as a DO region (slug and name = the host's name). Available while it takes new
 * VMs (enabled, not draining). No DO region features (private networking, metadata service,
 * backups…) exist here, so none are claimed.
 */
export function toDoRegion(host: HostRow, sizes: string[]): DoRegion {
  return { slug: host.name, name: host.name, sizes: [...sizes], available: isOpen(host), features: [] };
}

/**
 * Our image slug for what a DO client asks for: DO's distribution slugs (`ubuntu-24-04-x64`,
 * `debian-12-x64`: ours plus `-x64`), our own slugs as they are.
 */
export function doImageSlugToOurs(slug: string): string {
  return slug.endsWith('-x64') ? slug.slice(0, -'-x64'.length) : slug;
}

/**
 * The image a DO client names: an integer id (images.id; a number or a digits-only string), one
 * of DO's distribution slugs, or our slug. Undefined when there is none; whether it is usable
 * (available) is ImagesService.resolve's rule, not this lookup's.
 */
export async function findDoImage(repo: Pick<ImagesRepository, 'find' | 'findById'>, ref: string | number): Promise<ImageRow | undefined> {
  if (typeof ref === 'number') return Number.isSafeInteger(ref) && ref > 0 ? repo.findById(ref) : undefined;
  if (/^[0-9]{1,15}$/.test(ref)) return repo.findById(Number(ref));
  return (await repo.find(ref)) ?? (ref.endsWith('-x64') ? repo.find(doImageSlugToOurs(ref)) : undefined);
}
