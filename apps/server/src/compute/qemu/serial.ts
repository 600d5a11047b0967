import { createConnection, type Socket } from 'node:net';
import { open } from 'node:fs/promises';

/** Connects to QEMU's serial chardev socket (server=on,wait=off); fails after timeoutMs. */
export function connectSerial(socketPath: string, timeoutMs = 5_000): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`serial console ${socketPath}: no connection after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** The last maxBytes of the files taken in order as one stream (rotated log first, then current). */
export async function tailOfFiles(files: string[], maxBytes: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let need = maxBytes;
  for (const file of [...files].reverse()) {
    if (need <= 0) break;
    const handle = await open(file, 'r').catch(() => undefined);
    if (!handle) continue;
    try {
      const { size } = await handle.stat();
      const length = Math.min(size, need);
      const buf = Buffer.alloc(length);
      await handle.read(buf, 0, length, size - length);
      parts.unshift(buf);
      need -= length;
    } finally {
      await handle.close();
    }
  }
  return Buffer.concat(parts);
}
