import { EventEmitter } from 'node:events';
import { createConnection, type Socket } from 'node:net';

/**
 * A small QMP client: reads the greeting, negotiates capabilities, runs commands with ids and
 * timeouts, and emits asynchronous events (SHUTDOWN, RESET, STOP, POWERDOWN…) as 'event'.
 */
export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

export class QmpError extends Error {}

export class QmpClient extends EventEmitter<{ event: [QmpEvent]; close: [] }> {
  private buffer = '';
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private greeted?: (greeting: unknown) => void;
  private closed = false;

  private constructor(private readonly socket: Socket) {
    super();
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('close', () => this.onClose());
    socket.on('error', () => this.onClose());
  }

  /** Connects, waits for the greeting and enters command mode. */
  static async connect(socketPath: string, timeoutMs = 5000): Promise<QmpClient> {
    const socket = createConnection(socketPath);
    const client = new QmpClient(socket);
    try {
      await withTimeout(
        new Promise<void>((resolve, reject) => {
          client.greeted = () => resolve();
          socket.once('error', reject);
        }),
        timeoutMs,
        'QMP greeting',
      );
      await client.execute('qmp_capabilities', undefined, timeoutMs);
      return client;
    } catch (err) {
      client.close();
      throw err;
    }
  }

  execute<T = unknown>(command: string, args?: Record<string, unknown>, timeoutMs = 10_000): Promise<T> {
    if (this.closed) return Promise.reject(new QmpError('QMP connection is closed'));
    const id = `twarga-${this.nextId++}`;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new QmpError(`QMP ${command} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.socket.write(JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id }) + '\n');
    });
  }

  close(): void {
    if (!this.closed) this.socket.destroy();
    this.onClose();
  }

  private onData(chunk: string) {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (line) this.onMessage(line);
    }
  }

  private onMessage(line: string) {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    if ('QMP' in msg) return this.greeted?.(msg.QMP);
    if ('event' in msg) return void this.emit('event', msg as unknown as QmpEvent);
    const id = typeof msg.id === 'string' ? msg.id : undefined;
    const waiter = id ? this.pending.get(id) : undefined;
    if (!waiter || !id) return;
    this.pending.delete(id);
    clearTimeout(waiter.timer);
    if ('error' in msg) {
      const e = msg.error as { class?: string; desc?: string };
      waiter.reject(new QmpError(`${e.class ?? 'Error'}: ${e.desc ?? 'unknown QMP error'}`));
    } else {
      waiter.resolve(msg.return);
    }
  }

  private onClose() {
    if (this.closed) return;
    this.closed = true;
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new QmpError('QMP connection closed'));
    }
    this.pending.clear();
    this.emit('close');
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new QmpError(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]);
}

/**
 * QMP sessions taken in turn per socket: QEMU serves one QMP client and queues about one more, so
 * the metrics sampler, the reconciler and an action connecting at once would get EAGAIN.
 */
export class QmpTurns {
  private readonly last = new Map<string, Promise<unknown>>();

  session<T>(socketPath: string, connectTimeoutMs: number | undefined, fn: (qmp: QmpClient) => Promise<T>): Promise<T> {
    const run = (this.last.get(socketPath) ?? Promise.resolve()).then(async () => {
      const qmp = await QmpClient.connect(socketPath, connectTimeoutMs);
      try {
        return await fn(qmp);
      } finally {
        qmp.close();
      }
    });
    const turn = run.catch(() => undefined);
    this.last.set(socketPath, turn);
    void turn.then(() => {
      if (this.last.get(socketPath) === turn) this.last.delete(socketPath);
    });
    return run;
  }
}
