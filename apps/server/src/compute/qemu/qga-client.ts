import { randomInt } from 'node:crypto';
import { createConnection, type Socket } from 'node:net';

/**
 * A small QEMU guest agent (qemu-ga) client: JSON lines over the unix socket of the VM's
 * org.qemu.guest_agent.0 channel. Unlike QMP there is no greeting, and the channel keeps whatever
 * an earlier client left half-read (a late answer, a partial request), so every session starts
 * with guest-sync-delimited and a random id: the agent answers it after a 0xFF byte, and
 * everything before the answer carrying our id is stale. One request at a time; close after.
 */
export class QgaError extends Error {}

type Waiter = { resolve: (msg: Record<string, unknown>) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

export class QgaClient {
  private buffer = Buffer.alloc(0);
  private waiter?: Waiter;
  private closed = false;
  private busy = false;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => this.onClose());
    socket.on('error', () => this.onClose());
  }

  /**
   * Connects and synchronises with the agent. Rejects (QgaError) when the socket is missing or
   * the agent does not answer the sync within timeoutMs: a silent agent.
   */
  static async connect(socketPath: string, timeoutMs = 1500): Promise<QgaClient> {
    const socket = createConnection(socketPath);
    const client = new QgaClient(socket);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new QgaError(`guest agent socket: connect timed out after ${timeoutMs} ms`)), timeoutMs);
        socket.once('connect', () => (clearTimeout(timer), resolve()));
        socket.once('error', (err) => (clearTimeout(timer), reject(new QgaError(`guest agent socket: ${err.message}`))));
      });
      const id = randomInt(1, 2 ** 31);
      // A leading 0xFF makes the agent drop any partial request an earlier client left in its parser.
      socket.write(Buffer.from([0xff]));
      const got = await client.request('guest-sync-delimited', { id }, timeoutMs, (msg) => msg.return === id);
      if (got.return !== id) throw new QgaError('guest agent: sync answered with the wrong id');
      return client;
    } catch (err) {
      client.close();
      throw err instanceof QgaError ? err : new QgaError(String(err));
    }
  }

  /** Runs one command and resolves with its `return` value; QgaError on an error answer or timeout. */
  async execute<T = unknown>(command: string, args?: Record<string, unknown>, timeoutMs = 3000): Promise<T> {
    const msg = await this.request(command, args, timeoutMs);
    return msg.return as T;
  }

  close(): void {
    if (!this.closed) this.socket.destroy();
    this.onClose();
  }

  /**
   * Sends a command and waits for the next answer. `accept` skips answers that are not ours
   * (during the sync: stale answers to an earlier client's requests).
   */
  private request(command: string, args: Record<string, unknown> | undefined, timeoutMs: number, accept?: (msg: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
    if (this.closed) return Promise.reject(new QgaError('guest agent connection is closed'));
    if (this.busy) return Promise.reject(new QgaError('guest agent: one request at a time'));
    this.busy = true;
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new QgaError(`guest agent: ${command} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        resolve: (msg) => {
          if (accept && !accept(msg)) return;
          clearTimeout(timer);
          this.waiter = undefined;
          if ('error' in msg) {
            const e = msg.error as { class?: string; desc?: string };
            reject(new QgaError(`${e.class ?? 'Error'}: ${e.desc ?? 'unknown guest agent error'}`));
          } else resolve(msg);
        },
        reject: (e) => (clearTimeout(timer), (this.waiter = undefined), reject(e)),
        timer,
      };
      this.socket.write(JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}) }) + '\n');
    }).finally(() => {
      this.busy = false;
    });
  }

  private onData(chunk: Buffer) {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    let nl: number;
    while ((nl = this.buffer.indexOf(0x0a)) >= 0) {
      const line = this.buffer.subarray(0, nl);
      this.buffer = this.buffer.subarray(nl + 1);
      // The sync answer comes after a 0xFF delimiter byte; it is never part of JSON text.
      const text = Buffer.from(line.filter((b) => b !== 0xff)).toString('utf8').trim();
      if (text) this.onMessage(text);
    }
  }

  private onMessage(line: string) {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      return;
    }
    if (msg && typeof msg === 'object' && ('return' in msg || 'error' in msg)) this.waiter?.resolve(msg as Record<string, unknown>);
  }

  private onClose() {
    if (this.closed) return;
    this.closed = true;
    this.waiter?.reject(new QgaError('guest agent connection closed'));
  }
}
