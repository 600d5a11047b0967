import { connect } from 'node:net';

/** One try: does host:port answer with an SSH banner ("SSH-2.0-…") within timeoutMs? */
export function sshBanner(host: string, port: number, timeoutMs = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    let got = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('data', (d) => {
      got += d.toString('latin1');
      if (got.includes('\n') || got.length >= 4) done(got.startsWith('SSH-'));
    });
    socket.on('error', () => done(false));
    socket.on('close', () => done(got.startsWith('SSH-')));
  });
}

/**
 * Waits until the guest's SSH server greets (a VM that just started is "running" before its sshd
 * is up). Returns false when it did not within timeoutMs.
 */
export async function waitForSsh(host: string, port: number, timeoutMs: number, intervalMs = 500): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await sshBanner(host, port)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
