import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** Loopback stand-ins for what notifications reach: a webhook receiver and an SMTP server. */

/** One request the loopback webhook receiver got. */
interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  raw: Buffer;
}

/**
 * A webhook receiver on 127.0.0.1. Paths: /ok answers 200; /bad 400; /flaky/<key> 500 twice,
 * then 200; /hold waits until release() is called.
 */
export class Receiver {
  readonly got: Received[] = [];
  private server!: Server;
  private readonly flaky = new Map<string, number>();
  private held: ServerResponse[] = [];
  port = 0;

  async start() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '';
        this.got.push({ path, headers: req.headers, raw: Buffer.concat(chunks) });
        if (path === '/ok') return res.end('ok');
        if (path === '/bad') return res.writeHead(400).end('no');
        if (path.startsWith('/flaky/')) {
          const n = (this.flaky.get(path) ?? 0) + 1;
          this.flaky.set(path, n);
          return res.writeHead(n <= 2 ? 500 : 200).end();
        }
        if (path === '/hold') return void this.held.push(res);
        res.writeHead(404).end();
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }

  url(path: string) {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  hits(path: string) {
    return this.got.filter((g) => g.path === path);
  }

  release() {
    for (const res of this.held) res.end('ok');
    this.held = [];
  }

  stop() {
    this.release();
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(r));
  }
}

/** An SMTP sink on 127.0.0.1 that requires the user name and password of TWARGA_SMTP_URL. */
export class SmtpSink {
  readonly mails: { from: string; to: string[]; raw: string }[] = [];
  private server!: SMTPServer;
  port = 0;

  async start() {
    this.server = new SMTPServer({
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      logger: false,
      onAuth: (auth, _session, cb) =>
        auth.username === 'mailer' && auth.password === 's3cret' ? cb(null, { user: auth.username }) : cb(new Error('bad credentials')),
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          this.mails.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw: Buffer.concat(chunks).toString('utf8'),
          });
          cb();
        });
      },
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.server.address() as AddressInfo).port;
  }

  stop() {
    return new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** A message body as text: quoted-printable soft breaks and escapes undone. */
export const bodyOf = (raw: string) =>
  raw
    .slice(raw.indexOf('\r\n\r\n') + 4)
    .replace(/=\r\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));

export const hmacHex = (secret: string, raw: Buffer) => `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}
