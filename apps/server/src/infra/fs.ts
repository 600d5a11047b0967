import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Writes a file so readers see the old or the new content, never half of it. */
export async function writeFileAtomic(file: string, content: string | Buffer, mode = 0o600): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, content, { mode });
  await rename(tmp, file);
}

/** Resolves a path inside root, refusing anything that would escape it. */
export function confined(root: string, ...parts: string[]): string {
  const resolved = path.resolve(root, ...parts);
  const rel = path.relative(root, resolved);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) throw new Error(`path escapes ${root}: ${parts.join('/')}`);
  return resolved;
}
