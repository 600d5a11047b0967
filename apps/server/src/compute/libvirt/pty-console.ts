import { constants as fsConstants, open as openFd } from 'node:fs';
import type { Duplex } from 'node:stream';
import tty from 'node:tty';

/**
 * Opens a libvirt domain's serial PTY (the path `virsh ttyconsole` printed) as a raw stream:
 * what the guest prints comes out, what is written goes to its serial port. Local hosts only.
 */
export async function openPtyConsole(domain: string, ptyPath: string): Promise<Duplex> {
  if (!/^\/dev\/pts\/[0-9]+$/.test(ptyPath)) throw new Error(`libvirt domain ${domain} has no serial PTY (${JSON.stringify(ptyPath.slice(0, 100))})`);
  const fd = await new Promise<number>((resolve, reject) =>
    openFd(ptyPath, fsConstants.O_RDWR | fsConstants.O_NOCTTY, (err, fd) => (err ? reject(err) : resolve(fd))),
  );
  const stream = new tty.ReadStream(fd);
  stream.setRawMode(true);
  // When the domain stops, QEMU closes the PTY's master and reads fail with EIO: that is an end, not a crash.
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EIO' && stream.listenerCount('error') === 1) throw err;
  });
  return stream;
}
