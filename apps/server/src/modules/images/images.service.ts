import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Image } from '@twarga/contract';
import { AppError, badRequest } from '../../http/errors.js';
import type { BootSource } from '../../compute/driver.js';
import { toImage, type ImageRow, type ImagesRepository } from './images.repository.js';

/** Seed box names map to the distribution they ask for. */
const OS_ALIASES: Record<string, string> = {
  'ubuntu/focal64': 'ubuntu',
  'ubuntu/jammy64': 'ubuntu',
  'ubuntu/noble64': 'ubuntu',
  'debian/bookworm64': 'debian',
  'debian/bullseye64': 'debian',
  'centos/stream8': 'centos',
  'centos/7': 'centos',
  'twarga/tiny': 'tiny',
};

/** Cloud images we know how to verify: listed, downloaded only when an admin asks. */
const PRELISTED: Omit<ImageRow, 'created_at'>[] = [
  { slug: 'ubuntu-24-04', name: 'Ubuntu 24.04 LTS (cloud image)', distribution: 'Ubuntu', version: '24.04', os_type: 'ubuntu', min_disk: 4, kind: 'url', url: 'https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img', sha256: null, status: 'pending', progress: null, error: null },
  { slug: 'debian-12', name: 'Debian 12 (generic cloud image)', distribution: 'Debian', version: '12', os_type: 'debian', min_disk: 3, kind: 'url', url: 'https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2', sha256: null, status: 'pending', progress: null, error: null },
];

export class ImagesService {
  constructor(
    private readonly repo: ImagesRepository,
    private readonly tinyDir: string,
  ) {}

  /** Makes sure the built-in image and the pre-listed cloud images are in the catalog. */
  async seedCatalog(now: string): Promise<void> {
    const tinyReady = existsSync(path.join(this.tinyDir, 'vmlinuz')) && existsSync(path.join(this.tinyDir, 'initrd.img'));
    await this.repo.upsert({
      slug: 'tiny', name: 'Twarga tiny Linux (busybox, dropbear, Debian kernel)', distribution: 'Twarga tiny', version: '1', os_type: 'tiny', min_disk: 1, kind: 'builtin',
      url: null, sha256: null, status: tinyReady ? 'available' : 'error', progress: null,
      error: tinyReady ? null : `tiny image not built in ${this.tinyDir} (run scripts/setup.sh)`, created_at: now,
    });
    for (const img of PRELISTED) await this.repo.upsert({ ...img, created_at: now });
  }

  async list(): Promise<Image[]> {
    return (await this.repo.list()).map(toImage);
  }

  /** Resolves `image` (a slug) or `os_type` (seed names) to an available image, or a clear 400. */
  async resolve(input: { image?: string; os_type?: string }): Promise<ImageRow> {
    if (input.image) {
      const img = await this.repo.find(input.image);
      if (!img) throw badRequest(`Unknown image "${input.image}" (see GET /api/images)`, [{ field: 'image', message: 'is not a known image' }]);
      if (img.status !== 'available') throw new AppError(409, 'conflict', `Image "${img.slug}" is not available (${img.status})`, [{ field: 'image', message: `is ${img.status}` }]);
      return img;
    }
    const requested = input.os_type ?? 'tiny';
    const os = OS_ALIASES[requested] ?? requested;
    const candidates = await this.repo.findByOsType(os);
    const ready = candidates.find((c) => c.status === 'available');
    if (ready) return ready;
    const why = candidates.length ? `no ${os} image has been downloaded on this host yet` : `no image for "${requested}" exists on this host`;
    throw badRequest(`Cannot create a ${requested} VM: ${why}`, [{ field: 'os_type', message: why }]);
  }

  /** How the driver boots this image. */
  bootSource(img: ImageRow): BootSource {
    if (img.slug === 'tiny') {
      return { kind: 'kernel', kernel: path.join(this.tinyDir, 'vmlinuz'), initrd: path.join(this.tinyDir, 'initrd.img'), cmdline: 'console=ttyS0 panic=-1' };
    }
    throw new AppError(409, 'conflict', `Image ${img.slug} has no local disk yet`);
  }
}
