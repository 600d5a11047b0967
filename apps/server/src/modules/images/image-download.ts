import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { run } from '../../infra/process.js';

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
  let expected: Checksum;
  if ('checksumsUrl' in o.checksum) {
    const res = await fetch(o.checksum.checksumsUrl, { signal: o.signal, redirect: 'follow' });
    if (!res.ok) throw new Error(`checksum list ${o.checksum.checksumsUrl} answered ${res.status}`);
    const fileName = path.basename(new URL(o.url).pathname);
    const found = checksumFromSums((await res.text()).slice(0, 1024 * 1024), fileName);
    if (!found) throw new Error(`${fileName} is not listed in ${o.checksum.checksumsUrl}`);
    expected = found;
  } else {
    expected = o.checksum;
  }

  const res = await fetch(o.url, { signal: o.signal, redirect: 'follow' });
  if (!res.ok || !res.body) throw new Error(`${o.url} answered ${res.status}`);
  const total = Number(res.headers.get('content-length')) || null;
  if (total && total > o.maxBytes) throw new Error(`image is ${total} bytes, more than the ${o.maxBytes} allowed`);

  const part = `${o.dest}.part`;
  const hash = createHash(expected.algo);
  let bytes = 0;
  let lastReport = 0;
  const counted = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>).map((chunk: Buffer) => {
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
    if (actual !== expected.hex) throw new Error(`${expected.algo} mismatch: expected ${expected.hex}, got ${actual}`);
    const info = JSON.parse((await run('qemu-img', ['info', '--output=json', part], { timeoutMs: 30_000 })).stdout) as { format?: string };
    if (info.format !== 'qcow2' && info.format !== 'raw') throw new Error(`unsupported image format ${info.format ?? 'unknown'}`);
    await rename(part, o.dest);
    o.onProgress(1, bytes);
    return { bytes, format: info.format };
  } catch (err) {
    await rm(part, { force: true });
    throw err;
  }
}
