import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { run } from '../../infra/process.js';
import { guardedGet, readTextCapped, type FetchPolicy } from '../../lib/guarded-fetch.js';

export type Checksum = { algo: 'sha256' | 'sha512'; hex: string };

export interface DownloadOptions {
  url: string;
  /** Final path; the file appears there only once verified. */
  dest: string;
  checksum: Checksum | { checksumsUrl: string };
  maxBytes: number;
  signal: AbortSignal;
  /** fraction 0..1 when the size is known, else null; called at most a few times a second. */
  onProgress: (fraction: number | null, bytes: number) => void;
  /** Which addresses the URLs (and their redirects) may reach: see guarded-fetch.ts. */
  policy: FetchPolicy;
}

/** Finds the checksum of `fileName` in a SHA256SUMS/SHA512SUMS document. */
export function checksumFromSums(sums: string, fileName: string): Checksum | undefined {
  for (const line of sums.split('\n')) {
    const m = line.trim().match(/^([a-f0-9]{64}|[a-f0-9]{128})\s+\*?(.+)$/i);
    if (m && path.basename(m[2]!.trim()) === fileName) {
      const hex = m[1]!.toLowerCase();
      return { algo: hex.length === 64 ? 'sha256' : 'sha512', hex };
    }
  }
  return undefined;
}

/**
 * Downloads an image, hashing it on the way, and keeps it only if the checksum matches and
 * qemu-img recognises it as qcow2 or raw. Returns its size and format.
 */
export async function downloadImage(o: DownloadOptions): Promise<{ bytes: number; format: 'qcow2' | 'raw' }> {
  // Errors name the host and the HTTP status at most: never the body or the hash of what came
  // back, so a download cannot be used to read (or fingerprint) what a URL answers.
  let expected: Checksum;
  if ('checksumsUrl' in o.checksum) {
    const res = await guardedGet(o.checksum.checksumsUrl, o.policy, o.signal);
    if (res.statusCode !== 200) {
      res.destroy();
      throw new Error(`the checksum list answered HTTP ${res.statusCode}`);
    }
    const fileName = path.basename(new URL(o.url).pathname);
    const found = checksumFromSums(await readTextCapped(res, 1024 * 1024), fileName);
    if (!found) throw new Error(`${fileName} is not listed in the checksum list`);
    expected = found;
  } else {
    expected = o.checksum;
  }

  const res = await guardedGet(o.url, o.policy, o.signal);
  if (res.statusCode !== 200) {
    res.destroy();
    throw new Error(`the image URL answered HTTP ${res.statusCode}`);
  }
  const total = Number(res.headers['content-length']) || null;
  if (total && total > o.maxBytes) {
    res.destroy();
    throw new Error(`image is ${total} bytes, more than the ${o.maxBytes} allowed`);
  }

  const part = `${o.dest}.part`;
  const hash = createHash(expected.algo);
  let bytes = 0;
  let lastReport = 0;
  const counted = res.map((chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > o.maxBytes) throw new Error(`image is larger than the ${o.maxBytes} bytes allowed`);
    hash.update(chunk);
    const now = Date.now();
    if (now - lastReport > 250) {
      lastReport = now;
      o.onProgress(total ? bytes / total : null, bytes);
    }
    return chunk;
  });
  try {
    await pipeline(counted, createWriteStream(part, { mode: 0o600 }), { signal: o.signal });
    const actual = hash.digest('hex');
    if (actual !== expected.hex) throw new Error(`${expected.algo} mismatch: the downloaded file does not match the registered checksum`);
    const info = JSON.parse((await run('qemu-img', ['info', '--output=json', part], { timeoutMs: 30_000 })).stdout) as { format?: string };
    if (info.format !== 'qcow2' && info.format !== 'raw') throw new Error(`unsupported image format ${info.format ?? 'unknown'}`);
    await rename(part, o.dest);
    o.onProgress(1, bytes);
    return { bytes, format: info.format };
  } catch (err) {
    res.destroy();
    await rm(part, { force: true });
    throw err;
  }
}
