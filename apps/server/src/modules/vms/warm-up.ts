import type { FastifyBaseLogger } from 'fastify';
import { canStartInstantly } from '../../compute/driver.js';
import type { ComputeRegistry } from '../../compute/registry.js';
import type { HostsRepository } from '../hosts/hosts.repository.js';
import type { ImagesRepository } from '../images/images.repository.js';
import type { ImagesService } from '../images/images.service.js';
import { SIZES } from '../sizes/sizes.js';
import { warmSpecOf } from './instance-spec.js';

/**
 * At server start, instant VMs get their warm snapshots ready before the first creation asks:
 * for every instant-capable image (one that boots from kernel+initrd: the built-in tiny image)
 * and every size in TWARGA_WARM_SIZES, on this machine's QEMU host when it is enabled. Building
 * runs in the driver's background; other shapes get theirs on their first (cold) creation.
 */
export async function prepareWarmSnapshots(d: {
  enabled: boolean;
  warmSizes: string;
  hosts: HostsRepository;
  drivers: ComputeRegistry;
  images: ImagesService;
  imagesRepo: ImagesRepository;
  log: FastifyBaseLogger;
}): Promise<number> {
  if (!d.enabled || !d.warmSizes) return 0;
  const host = (await d.hosts.list()).find((h) => h.driver === 'qemu' && h.enabled === 1);
  if (!host || !d.drivers.supports('qemu')) return 0;
  const driver = d.drivers.forHost(host);
  if (!canStartInstantly(driver)) return 0;
  let prepared = 0;
  for (const image of await d.imagesRepo.list()) {
    if (image.status !== 'available') continue;
    const boot = d.images.bootSource(image);
    if (boot.kind !== 'kernel') continue;
    for (const slug of d.warmSizes.split(',')) {
      const size = SIZES.find((s) => s.slug === slug);
      if (!size) {
        d.log.warn({ size: slug }, 'TWARGA_WARM_SIZES names an unknown size; no warm snapshot for it');
        continue;
      }
      if (size.disk < image.min_disk) continue;
      driver.prepareWarm(warmSpecOf(boot, { ram: size.memory, cpu: size.vcpus, disk: size.disk }));
      prepared++;
    }
  }
  return prepared;
}
