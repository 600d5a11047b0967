import { connectOwned, type OwnConnectionTag } from '../../lib/own-connection.js';

/** Bytes read before giving up on a banner (RFC 4253 lets a server print lines before it). */
const MAX_BYTES = 1024;

/**
 * True when host:port answers with an SSH identification line ("SSH-…") within timeoutMs. A TCP
 * connect alone proves nothing: QEMU's user-mode port forward accepts connections even when
 * nothing listens in the guest, then closes them. With `own`, the probe is registered as the
 * control plane's own connection (the guest logs it; the SOC must not count it as an attack).
 */
export function sshBannerAnswers(host: string, port: number, timeoutMs: number, own?: OwnConnectionTag): Promise<boolean> {
  return new Promise((resolve) => {
    let seen = '';
    let settled = false;
    const socket = connectOwned(host, port, own);
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      seen += chunk;
      if (/(^|\n)SSH-/.test(seen)) done(true);
      else if (seen.length >= MAX_BYTES) done(false);
    });
    socket.on('error', () => done(false));
    socket.on('close', () => done(false));
  });
}
