import type { WebSocket } from 'ws';
import { TERMINAL_CLOSE_CODES, parseClientMessage, type TerminalEndReason, type TerminalServerMessage } from '@twarga/contract';
import type { BackendEnd, BackendSink, TerminalBackend } from './backend.js';
import type { AsciicastRecorder } from './recorder.js';

export interface LiveSessionInfo {
  id: number;
  vmId: number;
  userId: number;
  kind: 'serial' | 'ssh';
  cols: number;
  rows: number;
  startedAt: Date;
}

export interface SessionLimits {
  idleMs: number;
  maxMs: number;
}

export interface SessionOutcome {
  reason: TerminalEndReason;
  message: string;
  exitCode: number | null;
  bytesIn: number;
  bytesOut: number;
  cols: number;
  rows: number;
}

const FLUSH_INTERVAL_MS = 4;
const FLUSH_BYTES = 64 * 1024;
const MAX_UNSENT_BYTES = 16 * 1024 * 1024;

const CLOSE_CODE: Record<TerminalEndReason, number> = {
  closed: TERMINAL_CLOSE_CODES.normal,
  exited: TERMINAL_CLOSE_CODES.normal,
  idle_timeout: TERMINAL_CLOSE_CODES.idleTimeout,
  max_duration: TERMINAL_CLOSE_CODES.maxDuration,
  ended_by_user: TERMINAL_CLOSE_CODES.ended,
  ended_by_admin: TERMINAL_CLOSE_CODES.ended,
  vm_stopped: TERMINAL_CLOSE_CODES.vmStopped,
  backend_error: TERMINAL_CLOSE_CODES.backendError,
  server_shutdown: 1001,
  access_revoked: TERMINAL_CLOSE_CODES.accessRevoked,
};

/**
 * One open terminal: websocket ↔ backend, with the recording, the idle timer (reset by real
 * input and output, not by pings) and the hard maximum duration. end() is idempotent.
 */
export class LiveSession implements BackendSink {
  private backend?: TerminalBackend;
  private lastActivity = Date.now();
  private idleTimer?: NodeJS.Timeout;
  private readonly maxTimer: NodeJS.Timeout;
  private bytesIn = 0;
  private bytesOut = 0;
  private finished = false;
  /** Output that arrived before connect() (an SSH prompt, serial output during scrollback). */
  private pending: Buffer[] | undefined = [];
  private outQueue: Buffer[] = [];
  private outQueued = 0;
  private flushTimer?: NodeJS.Timeout;
  private lastFlush = 0;

  constructor(
    readonly info: LiveSessionInfo,
    private readonly ws: WebSocket,
    readonly recorder: AsciicastRecorder | undefined,
    private readonly limits: SessionLimits,
    private readonly onEnd: (session: LiveSession, outcome: SessionOutcome) => void,
  ) {
    this.armIdle(limits.idleMs);
    this.maxTimer = setTimeout(() => this.end('max_duration', 'the session reached its maximum duration'), limits.maxMs);
    ws.on('message', (data, isBinary) => this.fromClient(data as Buffer, isBinary));
    ws.on('close', () => this.end('closed', 'the client closed the connection'));
    ws.on('error', () => this.end('closed', 'the client connection failed'));
    // The gateway paused the socket after the ticket; frames sent since then arrive now.
    ws.resume();
  }

  /** Bytes so far, for the live session lists (the row gets them at the end). */
  get traffic(): { bytesIn: number; bytesOut: number } {
    return { bytesIn: this.bytesIn, bytesOut: this.bytesOut };
  }

  /** Starts relaying once the backend is connected (output before that is buffered by it). */
  connect(backend: TerminalBackend, ready: TerminalServerMessage, scrollback?: Buffer): void {
    if (this.finished) return backend.close();
    this.backend = backend;
    this.send(ready);
    const early = this.pending ?? [];
    this.pending = undefined;
    if (scrollback?.length) this.output(scrollback, false);
    for (const data of early) this.output(data);
  }

  output(data: Buffer, counts = true): void {
    if (this.finished) return;
    if (this.pending) {
      this.pending.push(data);
      return;
    }
    if (counts) {
      this.bytesOut += data.length;
      this.lastActivity = Date.now();
    }
    this.outQueue.push(data);
    this.outQueued += data.length;
    if (this.flushTimer) return;
    const wait = this.lastFlush + FLUSH_INTERVAL_MS - performance.now();
    if (wait <= 0 || this.outQueued >= FLUSH_BYTES) this.flush();
    else this.flushTimer = setTimeout(() => this.flush(), wait);
  }

  /**
   * A serial port delivers output a byte or two at a time; one frame (and one recording event)
   * per read made printing a megabyte take minutes. Output is sent at once after a quiet spell
   * (a keystroke's echo is not delayed) and at most every few ms while it streams.
   */
  private flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (!this.outQueued) return;
    const data = this.outQueue.length === 1 ? this.outQueue[0]! : Buffer.concat(this.outQueue, this.outQueued);
    this.outQueue = [];
    this.outQueued = 0;
    this.lastFlush = performance.now();
    this.recorder?.output(data);
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(data, { binary: true });
    // A client that stops reading must not make the server hold its output without bound.
    if (this.ws.bufferedAmount > MAX_UNSENT_BYTES) this.end('backend_error', 'the client is not reading its output');
  }

  /** BackendSink: the backend went away (shell exited, VM stopped, connection broke). */
  ended(reason: BackendEnd, exitCode: number | null, message: string): void {
    this.end(reason, message, exitCode);
  }

  end(reason: TerminalEndReason, message: string, exitCode: number | null = null): void {
    if (this.finished) return;
    this.flush();
    this.finished = true;
    clearTimeout(this.idleTimer);
    clearTimeout(this.maxTimer);
    this.backend?.close();
    if (this.ws.readyState === this.ws.OPEN) {
      this.send({ type: 'exit', reason, exit_code: exitCode, message });
      this.ws.close(CLOSE_CODE[reason], reason);
    }
    this.onEnd(this, { reason, message, exitCode, bytesIn: this.bytesIn, bytesOut: this.bytesOut, cols: this.info.cols, rows: this.info.rows });
  }

  private fromClient(data: Buffer, isBinary: boolean): void {
    if (this.finished) return;
    if (isBinary) {
      if (!this.backend) return;
      this.bytesIn += data.length;
      this.lastActivity = Date.now();
      this.backend.write(data);
      return;
    }
    const msg = parseClientMessage(data.toString('utf8'));
    if (!msg || msg.type === 'auth') {
      this.send({ type: 'error', code: 'bad_message', message: 'unknown or malformed control message' });
      return;
    }
    if (msg.type === 'ping') return this.send({ type: 'pong', id: msg.id });
    this.info.cols = msg.cols;
    this.info.rows = msg.rows;
    this.backend?.resize(msg.cols, msg.rows);
    this.recorder?.resize(msg.cols, msg.rows);
  }

  private armIdle(ms: number): void {
    this.idleTimer = setTimeout(() => {
      const idle = Date.now() - this.lastActivity;
      if (idle >= this.limits.idleMs) this.end('idle_timeout', `no input or output for ${Math.round(this.limits.idleMs / 1000)} s`);
      else this.armIdle(this.limits.idleMs - idle);
    }, ms);
    this.idleTimer.unref();
  }

  private send(msg: TerminalServerMessage): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(msg));
  }
}
