import { parseServerMessage, type TerminalClientMessage, type TerminalEndReason, type TerminalKind, type TerminalServerMessage } from '@twarga/contract/browser';
import { client, errorMessage, isApiError } from '../api';
import { describeClose } from './describeEnd';

export type ReadyMessage = Extract<TerminalServerMessage, { type: 'ready' }>;

/** How a connection ended, told once. */
export type TerminalEnd =
  /** The server ended the session and said why (exit message). */
  | { kind: 'exit'; reason: TerminalEndReason; message: string; exitCode: number | null }
  /** The server refused to open a session (ticket, origin, VM not running…), or start failed (with its HTTP status). */
  | { kind: 'refused'; message: string; status?: number }
  /** The connection broke without a word from the server. */
  | { kind: 'dropped'; message: string }
  /** We closed it (disconnect, leaving the page). */
  | { kind: 'closed'; message: string };

export interface TerminalSocketHandlers {
  onReady(ready: ReadyMessage): void;
  onOutput(bytes: Uint8Array): void;
  onEnd(end: TerminalEnd): void;
  onLatency?(ms: number): void;
}

export interface TerminalSocketOptions {
  vmId: number;
  kind: TerminalKind;
  cols: number;
  rows: number;
}

const PING_EVERY_MS = 15_000;
const encoder = new TextEncoder();
const clamp = (n: number, min: number, max: number) => Math.min(max, Math.max(min, Math.round(n)));

/**
 * One terminal connection (twarga.terminal.v1): a fresh single-use ticket from the API, the
 * websocket, the auth message, then bytes both ways. Each reconnect is a new TerminalSocket.
 */
export class TerminalSocket {
  private ws?: WebSocket;
  private ready = false;
  private ended = false;
  private closedByUs = false;
  private last?: TerminalEnd;
  private pingTimer?: ReturnType<typeof setInterval>;
  private pingId = 0;
  private readonly pingsSent = new Map<number, number>();

  constructor(
    private readonly options: TerminalSocketOptions,
    private readonly handlers: TerminalSocketHandlers,
  ) {
    void this.open();
  }

  /** Keystrokes (xterm onData gives a string; onBinary gives one char per byte). */
  send(data: string | Uint8Array): void {
    if (!this.ready || this.ws?.readyState !== WebSocket.OPEN) return;
    this.ws.send(typeof data === 'string' ? encoder.encode(data) : data);
  }

  resize(cols: number, rows: number): void {
    this.control({ type: 'resize', cols: clamp(cols, 10, 500), rows: clamp(rows, 4, 200) });
  }

  close(): void {
    this.closedByUs = true;
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.close(1000, 'closed');
    else this.finish({ kind: 'closed', message: 'Disconnected.' });
  }

  private async open(): Promise<void> {
    const { vmId, kind, cols, rows } = this.options;
    let ticket;
    try {
      ticket = await client.terminal.start(vmId, { kind, cols: clamp(cols, 10, 500), rows: clamp(rows, 4, 200) });
    } catch (err) {
      return this.finish({ kind: 'refused', message: errorMessage(err), status: isApiError(err) ? err.status : undefined });
    }
    if (this.closedByUs) return this.finish({ kind: 'closed', message: 'Disconnected.' });
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${scheme}://${location.host}${ticket.websocket_path}`);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    // Credentials never go in the URL: the ticket is the first message.
    ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', ticket: ticket.ticket }));
    ws.onmessage = (e: MessageEvent<ArrayBuffer | string>) => {
      if (typeof e.data === 'string') this.onControl(e.data);
      else if (this.ready) this.handlers.onOutput(new Uint8Array(e.data));
    };
    ws.onclose = (e) => this.finish(this.last ?? (this.closedByUs ? { kind: 'closed', message: 'Disconnected.' } : describeClose(e.code, this.ready)));
  }

  private onControl(text: string): void {
    const msg = parseServerMessage(text);
    if (!msg) return;
    switch (msg.type) {
      case 'ready':
        this.ready = true;
        this.handlers.onReady(msg);
        this.startPings();
        return;
      case 'pong': {
        const sent = this.pingsSent.get(msg.id);
        this.pingsSent.delete(msg.id);
        if (sent !== undefined) this.handlers.onLatency?.(Math.round(performance.now() - sent));
        return;
      }
      case 'exit':
        this.last = { kind: 'exit', reason: msg.reason, message: msg.message, exitCode: msg.exit_code };
        return;
      case 'error':
        // Before ready it is a refusal; after, a complaint about one of our messages (ignored).
        if (!this.ready) this.last = { kind: 'refused', message: msg.message };
        return;
    }
  }

  private startPings(): void {
    const ping = () => {
      const id = ++this.pingId;
      this.pingsSent.set(id, performance.now());
      this.control({ type: 'ping', id });
    };
    ping();
    this.pingTimer = setInterval(ping, PING_EVERY_MS);
  }

  private control(msg: TerminalClientMessage): void {
    if (this.ready && this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  private finish(end: TerminalEnd): void {
    if (this.ended) return;
    this.ended = true;
    this.ready = false;
    clearInterval(this.pingTimer);
    this.handlers.onEnd(end);
  }
}
