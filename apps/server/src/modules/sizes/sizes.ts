import type { Size } from '@twarga/contract';

/** Limits of a custom spec (one VM), whatever the user's quota. */
export const CUSTOM_LIMITS = { ram: { min: 128, max: 8192 }, cpu: { min: 1, max: 4 }, disk: { min: 1, max: 200 } } as const;

/** Credits per hour: 1 per 256 MiB of memory, 2 per extra vCPU. */
export function hourlyPrice(ramMb: number, vcpus: number): number {
  return Math.ceil(ramMb / 256) + 2 * (vcpus - 1);
}

const size = (slug: string, memory: number, vcpus: number, disk: number, description: string): Size => ({
  slug,
  memory,
  vcpus,
  disk,
  description,
  price_hourly: hourlyPrice(memory, vcpus),
});

/** DigitalOcean-style size slugs. */
export const SIZES: readonly Size[] = [
  size('s-1vcpu-256mb', 256, 1, 1, 'Tiny: the built-in image, experiments'),
  size('s-1vcpu-512mb', 512, 1, 2, 'Small services'),
  size('s-1vcpu-1gb', 1024, 1, 10, 'A cloud image with room to spare'),
  size('s-2vcpu-2gb', 2048, 2, 20, 'Builds and databases'),
  size('s-2vcpu-4gb', 4096, 2, 40, 'Heavier workloads'),
];
