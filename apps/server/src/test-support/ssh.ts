import { Client } from 'ssh2';
import { connect } from 'node:net';

/** Runs one command over SSH (ssh2) with a private key; resolves with stdout. */
export function sshExec(opts: {
  host?: string; port: number; privateKey: string; command: string; username?: string; timeoutMs?: number;
  /** The handshake's limit (default 20 s). A starved guest under emulation may need minutes. */
  readyTimeoutMs?: number;
}): Promise<string> {
  return new Promise((resolve, reject) => {
    const conn = new Client();
    const timer = setTimeout(() => {
      conn.end();
      reject(new Error(`ssh ${opts.command} timed out`));
    }, opts.timeoutMs ?? 30_000);
    conn
      .on('ready', () => {
        conn.exec(opts.command, (err, stream) => {
          if (err) return reject(err);
          let out = '';
          let errOut = '';
          stream.on('data', (d: Buffer) => (out += d));
          stream.stderr.on('data', (d: Buffer) => (errOut += d));
          stream.on('close', (code: number) => {
            clearTimeout(timer);
            conn.end();
            code === 0 ? resolve(out) : reject(new Error(`ssh ${opts.command} exited ${code}: ${errOut}`));
          });
        });
      })
      .on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      })
      .connect({ host: opts.host ?? '127.0.0.1', port: opts.port, username: opts.username ?? 'root', privateKey: opts.privateKey, readyTimeout: opts.readyTimeoutMs ?? 20_000 });
  });
}

/** Waits until host:port answers with an SSH banner; returns the ms it took. */
export async function waitForSshBanner(port: number, timeoutMs = 120_000, host = '127.0.0.1'): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    const banner = await new Promise<string>((resolve) => {
      const s = connect(port, host);
      let got = '';
      const done = () => {
        s.destroy();
        resolve(got);
      };
      s.setTimeout(2000, done);
      s.on('data', (d) => {
        got += d;
        if (got.includes('\n')) done();
      });
      s.on('error', done);
      s.on('close', done);
    });
    if (banner.startsWith('SSH-')) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`no SSH banner on ${host}:${port} within ${timeoutMs} ms`);
}

/** One password login the guest refuses (ssh2, to 127.0.0.1:port): resolves when refused. */
export function failedLogin(port: number, username: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = new Client();
    c.on('ready', () => {
      c.end();
      reject(new Error(`the login as ${username} succeeded`));
    });
    c.on('error', (err: Error & { level?: string }) => (err.level === 'client-authentication' ? resolve() : reject(err)));
    c.connect({ host: '127.0.0.1', port, username, password: 'wrong-password-123', tryKeyboard: false, readyTimeout: 120_000 });
  });
}
