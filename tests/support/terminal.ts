import WebSocket from 'ws';
import { TERMINAL_WEBSOCKET_PATH, type TerminalServerMessage } from '@twarga/contract';

/**
 * A Node client of the terminal websocket protocol, for tests and benchmarks: collects output
 * as text, control messages in order, and the close code.
 */
export class TerminalClient {
  output = '';
  /** Terminal bytes received (output is decoded text, whose length differs). */
  bytes = 0;
  /** When the last terminal bytes arrived (Date.now()), or when the socket opened. */
  lastDataAt = Date.now();
  readonly messages: TerminalServerMessage[] = [];
  closeCode?: number;
  private waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        this.bytes += (data as Buffer).length;
        this.lastDataAt = Date.now();
        this.output += (data as Buffer).toString('utf8');
      }
      else this.messages.push(JSON.parse((data as Buffer).toString('utf8')) as TerminalServerMessage);
      this.wake();
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      this.wake();
    });
  }

  /** Opens the socket (optionally with an Origin and a cookie) and sends the ticket. */
  static async connect(base: string, ticket: string | undefined, headers: Record<string, string> = {}): Promise<TerminalClient> {
    const ws = new WebSocket(base.replace(/^http/, 'ws') + TERMINAL_WEBSOCKET_PATH, { headers });
    const client = new TerminalClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    if (ticket !== undefined) ws.send(JSON.stringify({ type: 'auth', ticket }));
    return client;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves when pred holds, checked after every frame; rejects after timeoutMs. */
  until<T>(what: string, pred: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; output tail: ${JSON.stringify(this.output.slice(-400))}, messages: ${JSON.stringify(this.messages)}`)), timeoutMs);
      const check = () => {
        const v = pred();
        if (v) {
          clearTimeout(timer);
          resolve(v);
        } else if (this.closeCode !== undefined && !pred()) {
          clearTimeout(timer);
          reject(new Error(`socket closed (${this.closeCode}) while waiting for ${what}; messages: ${JSON.stringify(this.messages)}`));
        } else this.waiters.push(check);
      };
      check();
    });
  }

  /** Waits for `ready` and then for the replayed scrollback, so later output is live output. */
  async ready() {
    const ready = await this.until('ready', () => this.messages.find((m): m is Extract<TerminalServerMessage, { type: 'ready' }> => m.type === 'ready'));
    await this.until('the scrollback', () => this.bytes >= ready.scrollback_bytes);
    return ready;
  }

  /** Waits for the server to close the socket; returns the code and the last control message. */
  async closed(timeoutMs = 20_000): Promise<{ code: number; last?: TerminalServerMessage }> {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`socket still open; messages: ${JSON.stringify(this.messages)}`)), timeoutMs);
      const check = () => (this.closeCode !== undefined ? (clearTimeout(timer), resolve()) : this.waiters.push(check));
      check();
    });
    return { code: this.closeCode!, last: this.messages.at(-1) };
  }

  type(text: string): void {
    this.ws.send(Buffer.from(text, 'utf8'), { binary: true });
  }

  resize(cols: number, rows: number): void {
    this.ws.send(JSON.stringify({ type: 'resize', cols, rows }));
  }

  /** Output since the given offset (to look only at what a command printed). */
  since(offset: number): string {
    return this.output.slice(offset);
  }

  close(): void {
    this.ws.close();
  }
}
