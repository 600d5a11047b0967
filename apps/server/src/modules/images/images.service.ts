import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { Image, RegisterImageRequest } from '@twarga/contract';
import { AppError, badRequest, conflict, notFound } from '../../http/errors.js';
import { confined } from '../../infra/fs.js';
import type { Clock } from '../../lib/time.js';
import { downloadImage, type Checksum } from './image-download.js';
import type { FetchPolicy } from '../../lib/guarded-fetch.js';
import type { BootSource } from '../../compute/driver.js';
import { toImage, type ImageRow, type NewImageRow, type ImagesRepository } from './images.repository.js';
import { BUILT_SLUG, type ImageBuilder } from './image-build.js';

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

const CHECKSUMS_UBUNTU = 'https://cloud-images.ubuntu.com/noble/current/SHA256SUMS';
const CHECKSUMS_DEBIAN = 'https://cloud.debian.org/images/cloud/bookworm/latest/SHA512SUMS';

/** Cloud images we know how to verify: listed, downloaded only when an admin asks. */
const PRELISTED: Omit<NewImageRow, 'created_at'>[] = [
  { slug: 'ubuntu-24-04', name: 'Ubuntu 24.04 LTS (cloud image)', distribution: 'Ubuntu', version: '24.04', os_type: 'ubuntu', min_disk: 4, kind: 'url', url: 'https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img', sha256: null, checksums_url: CHECKSUMS_UBUNTU, format: null, size_bytes: null, status: 'pending', progress: null, error: null, ssh_user: 'ubuntu' },
  { slug: 'debian-12-genericcloud', name: 'Debian 12 (official generic cloud image)', distribution: 'Debian', version: '12', os_type: 'debian', min_disk: 3, kind: 'url', url: 'https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2', sha256: null, checksums_url: CHECKSUMS_DEBIAN, format: null, size_bytes: null, status: 'pending', progress: null, error: null, ssh_user: 'debian' },
];

/**
 * Debian 12 built on this host from Debian's packages (images/debian/build.sh, see image-build.ts):
 * pending until the builder imports it. Its disk is 2 GiB; cloud-init grows it to the VM's.
 */
const BUILT: Omit<NewImageRow, 'created_at'> = {
  slug: BUILT_SLUG, name: 'Debian 12 (bookworm), built here', distribution: 'Debian', version: '12', os_type: 'debian', min_disk: 2, kind: 'built',
  url: null, sha256: null, checksums_url: null, format: null, size_bytes: null, status: 'pending', progress: null, error: null, ssh_user: 'debian',
};

const MAX_IMAGE_BYTES = 20 * 1024 ** 3;
const DOWNLOAD_TIMEOUT_MS = 2 * 60 * 60 * 1000;

export class ImagesService {
  private readonly downloads = new Map<string, Promise<void>>();
  private readonly closing = new AbortController();

  constructor(
    private readonly repo: ImagesRepository,
    private readonly tinyDir: string,
    /** <data>/images: downloaded cloud images */
    private readonly imagesDir: string,
    private readonly clock: Clock,
    private readonly log: FastifyBaseLogger,
    /** Where downloads may connect: public addresses only, unless a host is a listed mirror. */
    private readonly fetchPolicy: FetchPolicy = { mirrorHosts: new Set() },
  ) {}

  /** Builds and imports the images built on this host (wired after construction: it shares the repository). */
  private builder: ImageBuilder | undefined;
  attachBuilder(builder: ImageBuilder): void {
    this.builder = builder;
  }

  private file(slug: string) {
    return confined(this.imagesDir, `${slug}.img`);
  }

  async register(input: RegisterImageRequest): Promise<Image> {
    if (!input.sha256 && !input.checksums_url) throw badRequest('Give sha256 or checksums_url so the download can be verified', [{ field: 'sha256', message: 'or checksums_url is required' }]);
    if (await this.repo.find(input.slug)) throw conflict(`An image ${input.slug} already exists`, [{ field: 'slug', message: 'is taken' }]);
    const row: NewImageRow = {
      slug: input.slug, name: input.name, distribution: input.distribution, version: input.version, os_type: input.os_type,
      min_disk: input.min_disk, kind: 'url', url: input.url, sha256: input.sha256 ?? null, checksums_url: input.checksums_url ?? null,
      format: null, size_bytes: null, status: 'pending', progress: null, error: null, created_at: this.clock.now().toISOString(), ssh_user: input.ssh_user ?? 'root',
    };
    return toImage(await this.repo.insert(row));
  }

  /** Starts the download in the background; GET /api/images shows its progress. */
  async startDownload(slug: string): Promise<Image> {
    const img = await this.repo.find(slug);
    if (!img) throw notFound('Image');
    if (img.kind !== 'url' || !img.url) throw conflict(`Image ${slug} is ${img.kind === 'built' ? 'built on this host (POST /api/admin/images/:slug/build)' : 'built in'}; there is nothing to download`);
    if (img.status === 'downloading' || this.downloads.has(slug)) throw conflict(`Image ${slug} is already downloading`);
    await mkdir(this.imagesDir, { recursive: true, mode: 0o700 });
    await this.repo.update(slug, { status: 'downloading', progress: 0, error: null });
    const checksum: Checksum | { checksumsUrl: string } = img.sha256 ? { algo: 'sha256', hex: img.sha256 } : { checksumsUrl: img.checksums_url! };
    const task = downloadImage({
      url: img.url, dest: this.file(slug), checksum, maxBytes: MAX_IMAGE_BYTES, policy: this.fetchPolicy, signal: AbortSignal.any([AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS), this.closing.signal]),
      onProgress: (fraction) => void this.repo.update(slug, { progress: fraction }),
    })
      .then(({ bytes, format }) => this.repo.update(slug, { status: 'available', progress: 1, size_bytes: bytes, format, error: null }))
      .catch((err: Error) => {
        this.log.warn({ err, slug }, 'image download failed');
        return this.repo.update(slug, { status: 'error', error: err.message.slice(0, 500) });
      })
      .finally(() => this.downloads.delete(slug));
    this.downloads.set(slug, task);
    return toImage((await this.repo.find(slug))!);
  }

  /**
   * (Re)starts the build of an image built on this host, in the background; progress in GET
   * /api/images. An imported image is not rebuilt: delete it first (its VMs keep their disks).
   */
  async startBuild(slug: string): Promise<Image> {
    const img = await this.repo.find(slug);
    if (!img) throw notFound('Image');
    if (img.kind !== 'built' || !this.builder) throw conflict(`Image ${slug} is not built on this host${img.kind === 'url' ? ': download it instead' : ''}`);
    if (img.status === 'building' || this.builder.busy) throw conflict(`Image ${slug} is already being built or imported`);
    if (img.status === 'available') throw conflict(`Image ${slug} is built and available; delete it first to build it again`);
    await this.builder.build();
    return toImage((await this.repo.find(slug))!);
  }

  /** Resolves when every running download and build has ended (tests). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.downloads.values(), this.builder?.idle()]);
  }

  /** Server shutdown: running downloads are abandoned (and marked errored); a build is aborted without waiting for it. */
  async close(): Promise<void> {
    this.closing.abort(new Error('interrupted: the server stopped during the download'));
    await Promise.all([Promise.allSettled([...this.downloads.values()]), this.builder?.close()]);
  }

  async remove(slug: string, liveVmsUsing: number): Promise<void> {
    const img = await this.repo.find(slug);
    if (!img) throw notFound('Image');
    if (img.kind === 'builtin') throw conflict('The built-in image cannot be deleted');
    if (img.status === 'downloading' || img.status === 'building') throw conflict(`Wait for the ${img.status === 'building' ? 'build' : 'download'} to end first`);
    if (liveVmsUsing > 0) throw conflict(`${liveVmsUsing} live VM(s) still use this image`);
    await rm(this.file(slug), { force: true });
    // A built image stays listed (it is seeded at every start): Build imports it again.
    if (img.kind === 'built') await this.repo.update(slug, { status: 'pending', progress: null, format: null, size_bytes: null, error: null });
    else await this.repo.delete(slug);
  }

  /** Makes sure the built-in image and the pre-listed cloud images are in the catalog. */
  async seedCatalog(now: string): Promise<void> {
    const tinyReady = existsSync(path.join(this.tinyDir, 'vmlinuz')) && existsSync(path.join(this.tinyDir, 'initrd.img'));
    await this.repo.upsert({
      slug: 'tiny', name: 'Twarga tiny Linux (busybox, dropbear, Debian kernel)', distribution: 'Twarga tiny', version: '1', os_type: 'tiny', min_disk: 1, kind: 'builtin',
      url: null, sha256: null, checksums_url: null, format: null, size_bytes: null, status: tinyReady ? 'available' : 'error', progress: null,
      error: tinyReady ? null : `tiny image not built in ${this.tinyDir} (run scripts/setup.sh)`, created_at: now, ssh_user: 'root',
    });
    for (const img of [BUILT, ...PRELISTED]) await this.repo.upsert({ ...img, created_at: now });
    for (const img of await this.repo.list()) {
      if (img.status === 'downloading') await this.repo.update(img.slug, { status: 'error', error: 'interrupted: the server restarted during the download' });
      // The builder, started once the server listens, picks it up again.
      if (img.status === 'building') await this.repo.update(img.slug, { status: 'pending', progress: null, error: null });
    }
  }

  /**
   * The catalog. Why a download failed is for admins only: it names hosts and addresses of the
   * admin's network, which plain users have no business probing.
   */
  async list(viewer: { isAdmin: boolean }): Promise<Image[]> {
    // The built-in image first (the launch form's default: it boots in seconds), then the one built here, then downloads.
    const rank = { builtin: 0, built: 1, url: 2 } as const;
    const rows = (await this.repo.list()).sort((a, b) => rank[a.kind] - rank[b.kind]);
    return rows.map((r) => (viewer.isAdmin ? toImage(r) : { ...toImage(r), error: null }));
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
    // The image built here first (debian → debian-12, not the official download), then newest slug first.
    const candidates = (await this.repo.findByOsType(os)).sort((a, b) => Number(b.kind === 'built') - Number(a.kind === 'built'));
    const ready = candidates.find((c) => c.status === 'available');
    if (ready) return ready;
    const building = candidates.find((c) => c.status === 'building');
    const why = building ? `${building.slug} is still being built on this host (see GET /api/images)` : candidates.length ? `no ${os} image has been downloaded on this host yet` : `no image for "${requested}" exists on this host`;
    throw badRequest(`Cannot create a ${requested} VM: ${why}`, [{ field: 'os_type', message: why }]);
  }

  /** How the driver boots this image. */
  bootSource(img: ImageRow): BootSource {
    if (img.slug === 'tiny') {
      return { kind: 'kernel', kernel: path.join(this.tinyDir, 'vmlinuz'), initrd: path.join(this.tinyDir, 'initrd.img'), cmdline: 'console=ttyS0 panic=-1' };
    }
    if (img.status !== 'available' || !img.format) throw new AppError(409, 'conflict', `Image ${img.slug} has no local disk yet`);
    return { kind: 'disk', path: this.file(img.slug), format: img.format };
  }
}
