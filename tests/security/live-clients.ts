import http from 'node:http';
import { Duplex } from 'node:stream';
import type { DriverInfo, SerialConsole } from '../../apps/server/src/compute/driver.js';
import { FakeDriver } from '../../apps/server/src/test-support/fake-driver.js';

/**
 * The fake driver with a serial console: the port echoes what is typed, like a guest's tty.
 * Everything above it (tickets, the websocket gateway, live sessions, recordings, access
 * checks) is the product's own code; the real-QEMU path is covered in tests/integration.
 */
export class SerialFakeDriver extends FakeDriver implements SerialConsole {
  override info(): DriverInfo {
    const base = super.info();
    return { ...base, features: { ...base.features, console: true } };
  }

  async openSerial(): Promise<Duplex> {
    return new Duplex({
      read() {},
      write(chunk, _enc, done) {
        this.push(chunk);
        done();
      },
    });
  }

  async serialScrollback(): Promise<Buffer> {
    return Buffer.alloc(0);
  }
}

/** A client of the server-sent events stream: collects the events, notes when the server ends it. */
export class EventStreamClient {
  readonly events: { kind: string; [k: string]: unknown }[] = [];
  status?: number;
  endedAt?: number;
  private buffer = '';
  private readonly req: http.ClientRequest;
  private readonly waiters = new Set<() => void>();

  private constructor(url: string, headers: Record<string, string>) {
    this.req = http.get(url, { headers }, (res) => {
      this.status = res.statusCode;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        this.buffer += chunk;
        let i;
        while ((i = this.buffer.indexOf('\n\n')) >= 0) {
          const frame = this.buffer.slice(0, i);
          this.buffer = this.buffer.slice(i + 2);
          const data = frame.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
          if (data) this.events.push(JSON.parse(data));
        }
        this.wake();
      });
      res.on('end', () => this.finish());
      res.on('close', () => this.finish());
    });
    this.req.on('error', () => this.finish());
  }

  /** Opens the stream with a bearer credential, or with the browser's session cookie ({ cookie }). */
  static async open(base: string, credential: string | { cookie: string }): Promise<EventStreamClient> {
    const headers: Record<string, string> = typeof credential === 'string' ? { authorization: `Bearer ${credential}` } : { cookie: credential.cookie };
    const c = new EventStreamClient(`${base}/api/events/stream`, headers);
    await c.until('hello', () => c.events.some((e) => e.kind === 'hello'));
    return c;
  }

  private finish(): void {
    this.endedAt ??= Date.now();
    this.wake();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  until(what: string, pred: () => boolean, timeoutMs = 5_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (pred()) {
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve();
        } else if (this.endedAt !== undefined) {
          clearTimeout(timer);
          this.waiters.delete(check);
          reject(new Error(`stream ended (status ${this.status}) before ${what}; events: ${JSON.stringify(this.events)}`));
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out waiting for ${what}; events: ${JSON.stringify(this.events)}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** Resolves when the server ends the stream; rejects after timeoutMs. */
  ended(timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.endedAt === undefined) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(this.endedAt);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`stream still open after ${timeoutMs} ms; events: ${JSON.stringify(this.events)}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  close(): void {
    this.req.destroy();
  }
}
