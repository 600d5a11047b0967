import { readFile, rename, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { writeFileAtomic } from '../../infra/fs.js';
import type { InstanceSpec, ResizeTarget } from '../driver.js';
import type { QemuInstanceHost } from './instance-host.js';
import { bytesOfGb, growTo, imageInfo } from './qemu-img.js';

/** A resize or rebuild refused as asked (running instance, shrinking disk…): the message says why. */
export class MaintenanceError extends Error {}

/**
 * Resize and rebuild of stopped QEMU instances. Both only change files (spec.json, the disk): the
 * guest sees the result at its next start (the tiny image grows /data to the disk at boot).
 */
export class QemuMaintenance {
  constructor(private readonly host: QemuInstanceHost) {}

  async resize(id: string, to: ResizeTarget): Promise<void> {
    for (const [what, v] of [['memoryMb', to.memoryMb], ['vcpus', to.vcpus], ['diskGb', to.diskGb]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new MaintenanceError(`invalid resize target: ${what} must be a positive integer, got ${JSON.stringify(v)}`);
    }
    await this.assertStopped(id, 'resize');
    const p = this.host.paths(id);
    const spec = JSON.parse(await readFile(p.spec, 'utf8')) as InstanceSpec;
    if (to.diskGb < spec.diskGb) throw new MaintenanceError(`disks only grow: ${id} has ${spec.diskGb} GB, ${to.diskGb} GB asked`);
    const { virtualBytes } = await imageInfo(p.disk);
    if (bytesOfGb(to.diskGb) < virtualBytes) throw new MaintenanceError(`disks only grow: the disk of ${id} is already ${(virtualBytes / bytesOfGb(1)).toFixed(1)} GB`);
    // Disk first: a disk larger than spec.json says is harmless (the next grow is a no-op), a spec
    // promising more than the disk has is not.
    await growTo(p.disk, to.diskGb);
    await writeFileAtomic(p.spec, JSON.stringify({ ...spec, memoryMb: to.memoryMb, vcpus: to.vcpus, diskGb: to.diskGb }, null, 2));
  }

  /**
   * A fresh disk from spec.boot (blank for kernel boot, image-backed otherwise), new seed and
   * spec.json; id, SSH port and keys are whatever the spec carries. The old disk is kept aside
   * until the new instance files are written, and put back if that fails.
   */
  async rebuild(spec: InstanceSpec): Promise<void> {
    await this.assertStopped(spec.id, 'rebuild');
    const p = this.host.paths(spec.id);
    const aside = `${p.disk}.rebuild-old`;
    if (existsSync(p.disk)) await rename(p.disk, aside);
    try {
      // create() makes a disk only when none exists: the one moved aside is not reused.
      const { fromSnapshot: _ignored, ...fresh } = spec;
      await this.host.create(fresh);
    } catch (err) {
      await rm(p.disk, { force: true });
      if (existsSync(aside)) await rename(aside, p.disk);
      throw err;
    }
    await rm(aside, { force: true });
  }

  private async assertStopped(id: string, what: string): Promise<void> {
    const state = await this.host.inspect(id);
    if (state.state === 'missing') throw new MaintenanceError(`instance ${id} does not exist`);
    if (state.state === 'running') throw new MaintenanceError(`${what} needs the instance stopped: ${id} is running`);
  }
}
