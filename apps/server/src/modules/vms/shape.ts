import { badRequest } from '../../http/errors.js';
import { CUSTOM_LIMITS, SIZES } from '../sizes/sizes.js';

/** A VM's shape: a size slug, or a custom ram/cpu/disk (size null). */
export interface Shape {
  size: string | null;
  ram: number;
  cpu: number;
  disk: number;
}

/** What a request may say about a shape: a size slug, or any of ram/cpu/disk. */
export interface ShapeInput {
  size?: string;
  ram?: number;
  cpu?: number;
  disk?: number;
}

/**
 * A size slug, or a custom ram/cpu/disk within CUSTOM_LIMITS. Custom fields not given take
 * `base`'s values (create: 256 MB, 1 vCPU, 1 GB; resize: the VM's current shape); nothing
 * given at all is `whenEmpty` (create: the smallest size; resize: undefined, "nothing to change").
 */
export function resolveShape(input: ShapeInput, base: Omit<Shape, 'size'>, whenEmpty?: Shape): Shape | undefined {
  const custom = input.ram !== undefined || input.cpu !== undefined || input.disk !== undefined;
  if (input.size) {
    const size = SIZES.find((s) => s.slug === input.size);
    if (!size) throw badRequest(`Unknown size "${input.size}" (see GET /api/sizes)`, [{ field: 'size', message: 'is not a known size' }]);
    if (custom) throw badRequest('Give a size or ram/cpu/disk, not both', [{ field: 'size', message: 'conflicts with ram/cpu/disk' }]);
    return { size: size.slug, ram: size.memory, cpu: size.vcpus, disk: size.disk };
  }
  if (!custom) return whenEmpty;
  const ram = input.ram ?? base.ram;
  const cpu = input.cpu ?? base.cpu;
  const disk = input.disk ?? base.disk;
  const problems = [
    ...(ram < CUSTOM_LIMITS.ram.min || ram > CUSTOM_LIMITS.ram.max ? [{ field: 'ram', message: `must be between ${CUSTOM_LIMITS.ram.min} and ${CUSTOM_LIMITS.ram.max} MB` }] : []),
    ...(cpu > CUSTOM_LIMITS.cpu.max ? [{ field: 'cpu', message: `must be at most ${CUSTOM_LIMITS.cpu.max}` }] : []),
    ...(disk > CUSTOM_LIMITS.disk.max ? [{ field: 'disk', message: `must be at most ${CUSTOM_LIMITS.disk.max} GB` }] : []),
  ];
  if (problems.length) throw badRequest(`Impossible spec: ${problems.map((p) => `${p.field} ${p.message}`).join(', ')}`, problems);
  return { size: null, ram, cpu, disk };
}

/** The create request's shape: the smallest size when none is given. */
export function createShape(input: ShapeInput): Shape {
  const smallest = SIZES[0]!;
  return resolveShape(input, { ram: 256, cpu: 1, disk: 1 }, { size: smallest.slug, ram: smallest.memory, cpu: smallest.vcpus, disk: smallest.disk })!;
}
