import { existsSync } from 'node:fs';
import { copyFile, link, mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyBaseLogger } from 'fastify';
import { CommandError, run } from '../../infra/process.js';
import type { ImagesRepository } from './images.repository.js';

/** The image this host builds from Debian's packages (images/debian/build.sh). */
export const BUILT_SLUG = 'debian-12';

const here = path.dirname(fileURLToPath(import.meta.url));
// src/modules/images or dist/modules/images → the repository's images/debian
const DEBIAN_DIR = path.resolve(here, '../../../../../images/debian');

const CHECK_TIMEOUT_MS = 10 * 60 * 1000;
const BUILD_TIMEOUT_MS = 45 * 60 * 1000;
const BOX_TIMEOUT_MS = 30 * 60 * 1000;
const RETRY_WITHOUT_ROOT_MS = 60_000;

export interface ImageBuilderOptions {
  repo: ImagesRepository;
  /** <data>/images: where the built disk is imported as debian-12.img (VMs' overlays back onto it). */
  imagesDir: string;
  /** The build cache root shared by every data dir on this machine (config imageCacheDir). */
  cacheRoot: string;
  /** 'auto': import a valid cache, else build; 'off': nothing unless an admin asks (Build). */
  mode: 'auto' | 'off';
  log: FastifyBaseLogger;
  /** Whether a Vagrant box of the image is wanted (the vagrant driver is configured). */
  vagrantWanted: () => Promise<boolean>;
  /** The build scripts; tests pass fakes. Defaults: the repository's images/debian scripts. */
  scripts?: { build?: string; box?: string };
}

/**
 * Builds the Debian 12 image in the background (never on the start path) and imports it.
 * One run at a time: the start-up pass (check → build when allowed → import → box) or an
 * admin's Build. build.sh itself serialises builds across processes with a lock.
 */
export class ImageBuilder {
  private task: Promise<void> | undefined;
  private readonly closing = new AbortController();
  private readonly buildScript: string;
  private readonly boxScript: string;

  constructor(private readonly o: ImageBuilderOptions) {
    this.buildScript = o.scripts?.build ?? path.join(DEBIAN_DIR, 'build.sh');
    this.boxScript = o.scripts?.box ?? path.join(DEBIAN_DIR, 'build-box.sh');
  }

  private get disk() {
    return path.join(this.o.imagesDir, `${BUILT_SLUG}.img`);
  }

  private get output() {
    return path.join(this.o.cacheRoot, BUILT_SLUG);
  }

  /** True while a check, build or import runs. */
  get busy(): boolean {
    return this.task !== undefined;
  }

  /** The start-up pass, after the server listens; returns at once. */
  start(): void {
    this.launch(this.o.mode === 'auto');
  }

  /** An admin's Build/Retry: runs even when automatic builds are off. Caller checked the row. */
  async build(): Promise<void> {
    await this.o.repo.update(BUILT_SLUG, { status: 'building', progress: 0, error: null });
    this.launch(true);
  }

  /** Resolves when the current run has ended (tests). */
  async idle(): Promise<void> {
    await this.task;
  }

  /** Server shutdown: the build is aborted (SIGTERM to the script); close waits a moment at most. */
  async close(): Promise<void> {
    this.closing.abort(new Error('the server stopped'));
    if (this.task) await Promise.race([this.task, new Promise((r) => setTimeout(r, 2000).unref())]);
  }

  private launch(allowBuild: boolean): void {
    if (this.task || this.closing.signal.aborted) return;
    this.task = this.pass(allowBuild)
      .catch(async (err: Error) => {
        this.o.log.warn({ err }, 'the Debian 12 image could not be imported');
        await this.o.repo.update(BUILT_SLUG, { status: 'error', progress: null, error: `import failed: ${err.message}`.slice(0, 500) }).catch(() => undefined);
      })
      .finally(() => (this.task = undefined));
  }

  private async pass(allowBuild: boolean): Promise<void> {
    const { repo, log } = this.o;
    const row = await repo.find(BUILT_SLUG);
    // An official debian-12 downloaded before 019 keeps the slug: no built image on this server.
    if (!row || row.kind !== 'built') return;
    if (existsSync(this.disk)) {
      // Imported before: this server's image is that file, whatever the cache holds now.
      if (row.status !== 'available') await this.markAvailable();
    } else if (!existsSync(this.buildScript)) {
      await repo.update(BUILT_SLUG, { status: 'error', progress: null, error: `the build script ${this.buildScript} is missing` });
      return;
    } else if (!allowBuild) {
      // Off: not even the check (2-3 s of hashing), which every test server would pay at start.
      await repo.update(BUILT_SLUG, {
        status: 'pending', progress: null,
        error: `not imported: automatic builds are off (TWARGA_IMAGE_BUILD=off); import or build it with Build (POST /api/admin/images/${BUILT_SLUG}/build)`,
      });
      return;
    } else {
      if (!(await this.check())) {
        const built = await this.runBuild();
        if (!built) {
          this.retryLaterWithoutRoot();
          return;
        }
      }
      await this.importDisk();
    }
    await this.buildBox().catch((err: Error) => log.warn({ err }, 'the twarga/debian-12 Vagrant box could not be made; the image stays available for the other drivers'));
  }

  /**
   * A server that is not root cannot build (mmdebstrap needs root): build.sh then waits for a root
   * build in progress or fails at once. Such a server looks again every minute, so the image shows
   * up once root has built it (deploy/twarga-image-build.service, or build.sh run by hand).
   */
  private retryLaterWithoutRoot(): void {
    if (process.getuid?.() === 0 || this.closing.signal.aborted) return;
    const timer = setTimeout(() => this.launch(true), RETRY_WITHOUT_ROOT_MS);
    timer.unref();
    this.closing.signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
  }

  /** build.sh --check: exit 0 when the cache holds a build of the current inputs with good checksums. */
  private async check(): Promise<boolean> {
    try {
      await run(this.buildScript, ['--check', this.o.cacheRoot], { timeoutMs: CHECK_TIMEOUT_MS, signal: this.closing.signal, killSignal: 'SIGTERM' });
      return true;
    } catch (err) {
      if (!(err instanceof CommandError && err.exitCode === 1)) this.o.log.warn({ err }, 'images/debian/build.sh --check failed to run');
      return false;
    }
  }

  /** Runs build.sh with its PROGRESS lines as the catalog's progress; false (row in error) on failure. */
  private async runBuild(): Promise<boolean> {
    const { repo, log } = this.o;
    await repo.update(BUILT_SLUG, { status: 'building', progress: 0, error: null });
    log.info({ cache: this.output }, 'building the Debian 12 image in the background');
    let last = 0;
    const onLine = (line: string) => {
      const m = /^PROGRESS\s+(\d{1,3})\b\s*(.*)$/.exec(line);
      if (!m) return;
      const fraction = Math.min(100, Number(m[1])) / 100;
      if (fraction < last) return;
      last = fraction;
      log.info({ progress: fraction, phase: m[2] }, 'Debian 12 image build');
      void repo.update(BUILT_SLUG, { progress: fraction }).catch(() => undefined);
    };
    try {
      await mkdir(this.o.cacheRoot, { recursive: true });
      await run(this.buildScript, [this.o.cacheRoot], {
        timeoutMs: BUILD_TIMEOUT_MS, signal: this.closing.signal, killSignal: 'SIGTERM', onLine, maxBuffer: 64 * 1024 * 1024,
      });
      return true;
    } catch (err) {
      const interrupted = this.closing.signal.aborted;
      const message = interrupted ? 'interrupted: the server stopped during the build' : `build failed: ${(err as Error).message}`;
      if (!interrupted) log.warn({ err }, 'the Debian 12 image build failed');
      // The database may be closing with the server: the next start resets 'building' anyway.
      await repo.update(BUILT_SLUG, { status: interrupted ? 'pending' : 'error', progress: null, error: message.slice(0, 500) }).catch(() => undefined);
      return false;
    }
  }

  /**
   * The cache's disk becomes <data>/images/debian-12.img, once: a hard link (a copy across file
   * systems). Later builds replace the cache directory, never this file, so VMs' overlays stay valid.
   */
  private async importDisk(): Promise<void> {
    const source = path.join(this.output, 'disk.qcow2');
    if (!existsSync(this.disk)) {
      await mkdir(this.o.imagesDir, { recursive: true, mode: 0o700 });
      const part = `${this.disk}.part`;
      await rm(part, { force: true });
      try {
        await link(source, part);
      } catch {
        await copyFile(source, part);
      }
      await rename(part, this.disk);
      this.o.log.info({ from: source, to: this.disk }, 'Debian 12 image imported');
    }
    await this.markAvailable();
  }

  private async markAvailable(): Promise<void> {
    const { size } = await stat(this.disk);
    await this.o.repo.update(BUILT_SLUG, { status: 'available', progress: 1, format: 'qcow2', size_bytes: size, error: null });
  }

  /**
   * twarga/debian-12 for vagrant-libvirt, when the vagrant driver is configured. build-box.sh
   * verifies the cache's checksums itself and exits at once when the box is up to date; a host
   * without Vagrant gets its error in the log.
   */
  private async buildBox(): Promise<void> {
    if (!existsSync(this.boxScript) || !(await this.o.vagrantWanted())) return;
    await run(this.boxScript, [this.output], { timeoutMs: BOX_TIMEOUT_MS, signal: this.closing.signal, killSignal: 'SIGTERM', maxBuffer: 16 * 1024 * 1024 });
    this.o.log.info('Vagrant box twarga/debian-12 ready');
  }
}
