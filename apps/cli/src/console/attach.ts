import { spawnSync } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import WebSocket from 'ws';
import { ApiClient, parseServerMessage, type TerminalClientMessage, type TerminalServerMessage } from '@twarga/contract';
import { exitCodeFor, formatError } from '../exit-codes.js';
import { describeEnd, type ConsoleEnd } from './end.js';
import { ESCAPE_HELP, EscapeDetector } from './escape.js';

export interface AttachOptions {
  baseUrl: string;
  token: string;
  vmId: number;
  kind: 'serial' | 'ssh';
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

/** How often we ping, and how long without a pong before the link counts as dead. */
const PING_EVERY_MS = 15_000;
const DEAD_AFTER_MS = 45_000;
/** After we close, how long the server may take to answer before the socket is cut. */
const CLOSE_GRACE_MS = 2_000;
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

const clamp = (n: number, min: number, max: number) => Math.min(max, Math.max(min, Math.round(n)));

/** The local terminal's size within the protocol's bounds; undefined when stdout is not a terminal. */
function sizeOf(stdout: NodeJS.WriteStream): { cols: number; rows: number } | undefined {
  if (!stdout.isTTY || !stdout.columns || !stdout.rows) return undefined;
  return { cols: clamp(stdout.columns, 10, 500), rows: clamp(stdout.rows, 4, 200) };
}

/**
 * Node's raw mode (libuv) keeps output post-processing on, so the terminal turns every "\n" the
 * VM sends into "\r\n": a full-screen program's cursor-down becomes a jump to the first column
 * and every line ends in "\r\r\n". ssh and virsh turn it off (cfmakeraw); Node has no call for
 * it, so `stty -opost` does it on the same terminal. setRawMode(false) puts back the terminal
 * settings libuv saved before raw mode, OPOST included. Without stty the console still works.
 */
function rawOutput(stdin: NodeJS.ReadStream): void {
  spawnSync('stty', ['-opost'], { stdio: [stdin, 'ignore', 'ignore'], timeout: 2_000 });
}

/**
 * Attaches the local terminal to a VM's serial console or SSH terminal through the server's
 * terminal websocket (twarga.terminal.v1): a ticket from POST /api/terminal/start/{vm_id}, then
 * the websocket with the ticket as its first message, bytes both ways, JSON control messages.
 * Resolves with the exit code: 0 after ~. or a normal end, 1 on an error, 128+n after signal n
 * (the message is already printed on stderr). A refused ticket request exits as any other command
 * would (exit-codes.ts: 3 not found, 4 auth, 5 conflict such as vm_not_running, 7 unreachable).
 */
export async function attachConsole(opts: AttachOptions): Promise<number> {
  const size = sizeOf(opts.stdout);
  let ticket;
  try {
    ticket = await new ApiClient({ baseUrl: opts.baseUrl, token: opts.token }).terminal.start(opts.vmId, { kind: opts.kind, ...size });
  } catch (err) {
    // Nothing is attached yet: the CLI's usual exit codes (5 for vm_not_running, 7 unreachable…).
    opts.stderr.write(formatError(err) + '\n');
    return exitCodeFor(err);
  }
  const url = opts.baseUrl.replace(/\/$/, '').replace(/^http/, 'ws') + ticket.websocket_path;
  return new ConsoleSession(opts).run(url, ticket.ticket, size);
}

/** One attached console: the websocket, the local terminal, and putting both back at the end. */
class ConsoleSession {
  private ws?: WebSocket;
  private ready = false;
  private finished = false;
  private end?: ConsoleEnd;
  /** Set by the server's exit or error message, which comes just before it closes. */
  private serverSaid?: ConsoleEnd;
  private socketError?: string;
  private rawMode = false;
  private pingTimer?: NodeJS.Timeout;
  private closeTimer?: NodeJS.Timeout;
  private pingId = 0;
  private lastPong = Date.now();
  private readonly escapes = new EscapeDetector();
  private resolve!: (code: number) => void;
  private readonly cleanups: (() => void)[] = [];

  constructor(private readonly opts: AttachOptions) {}

  run(url: string, ticket: string, size: { cols: number; rows: number } | undefined): Promise<number> {
    const done = new Promise<number>((resolve) => (this.resolve = resolve));
    // No Origin header: the server's origin check is for browsers, and the ticket is the credential.
    const ws = new WebSocket(url, { handshakeTimeout: 15_000, perMessageDeflate: false, headers: { 'user-agent': 'twarga-cli' } });
    this.ws = ws;
    ws.on('open', () => this.control({ type: 'auth', ticket }));
    ws.on('message', (data: Buffer, isBinary) => (isBinary ? this.output(data) : this.onControl(data.toString('utf8'), size)));
    ws.on('error', (err) => (this.socketError ??= err.message));
    ws.on('close', (code) => this.finish(code));

    // Before raw mode, Ctrl-C is a signal; in raw mode it is a byte for the VM. A signal ends the
    // session and puts the terminal back: the console takes these signals over while it runs (the
    // CLI's own SIGINT handler would exit at once, leaving the terminal raw) and gives them back after.
    for (const sig of SIGNALS) {
      const previous = process.listeners(sig);
      process.removeAllListeners(sig);
      const onSignal = () => this.stop({ kind: 'signal', signal: sig, signo: osConstants.signals[sig] });
      process.on(sig, onSignal);
      this.cleanups.push(() => {
        process.off(sig, onSignal);
        for (const l of previous) process.on(sig, l);
      });
    }
    // Last resort if someone calls process.exit() while we are attached.
    const onExit = () => this.restoreTerminal();
    process.on('exit', onExit);
    this.cleanups.push(() => process.off('exit', onExit));
    return done;
  }

  private onControl(text: string, size: { cols: number; rows: number } | undefined): void {
    const msg = parseServerMessage(text);
    if (!msg) return;
    switch (msg.type) {
      case 'ready':
        return this.onReady(msg, size);
      case 'pong':
        this.lastPong = Date.now();
        return;
      case 'exit':
        this.serverSaid = { kind: 'exit', message: msg };
        return;
      case 'error':
        // Before ready it is a refusal; after, a complaint about one of our messages.
        if (!this.ready) this.serverSaid = { kind: 'refused', code: msg.code, message: msg.message };
        return;
    }
  }

  private onReady(ready: Extract<TerminalServerMessage, { type: 'ready' }>, size: { cols: number; rows: number } | undefined): void {
    if (this.end) return;
    this.ready = true;
    const { stdin, stdout, stderr } = this.opts;
    const what = this.opts.kind === 'serial' ? 'serial console' : 'SSH terminal';
    stderr.write(`Connected to the ${what} of VM ${ready.vm_id} (session ${ready.session_id}). Detach with Enter ~ . (Enter ~ ? for help)\r\n`);

    if (stdin.isTTY) {
      stdin.setRawMode(true);
      this.rawMode = true;
      rawOutput(stdin);
    }
    const onData = (chunk: Buffer) => this.input(chunk);
    // Not a terminal and at its end (a pipe ran dry): there is nothing more to type, so detach.
    const onEnd = () => this.stop({ kind: 'detached' });
    stdin.on('data', onData);
    stdin.on('end', onEnd);
    stdin.resume();
    this.cleanups.push(() => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.pause();
    });

    // Node turns SIGWINCH into 'resize' on a TTY stdout, with columns and rows already updated.
    if (size) this.control({ type: 'resize', ...size });
    if (stdout.isTTY) {
      const onResize = () => {
        const now = sizeOf(stdout);
        if (now) this.control({ type: 'resize', ...now });
      };
      stdout.on('resize', onResize);
      this.cleanups.push(() => stdout.off('resize', onResize));
    }

    // Pings (pongs do not count as activity for the server's idle timeout) tell a dead link from a quiet one.
    this.lastPong = Date.now();
    this.pingTimer = setInterval(() => {
      if (Date.now() - this.lastPong > DEAD_AFTER_MS) {
        this.socketError = `no answer from the server for ${DEAD_AFTER_MS / 1000} s`;
        this.ws?.terminate();
        return;
      }
      this.control({ type: 'ping', id: ++this.pingId });
    }, PING_EVERY_MS);
    this.pingTimer.unref();
  }

  /** Keystrokes: escapes handled here, the rest to the VM. */
  private input(chunk: Buffer): void {
    for (const e of this.escapes.feed(chunk)) {
      if (e.type === 'data') {
        if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(e.data, { binary: true });
      } else if (e.type === 'help') this.opts.stderr.write('\r\n' + ESCAPE_HELP);
      else return this.stop({ kind: 'detached' });
    }
  }

  /** VM output to stdout; a slow stdout pauses the socket rather than buffering without bound. */
  private output(data: Buffer): void {
    if (!this.ready || this.end) return;
    const { stdout } = this.opts;
    if (!stdout.write(data) && this.ws && !this.ws.isPaused) {
      this.ws.pause();
      stdout.once('drain', () => this.ws?.resume());
    }
  }

  private control(msg: TerminalClientMessage): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  /** Our side ends it (detach or a signal): close the socket politely, cut it if the server is slow. */
  private stop(end: ConsoleEnd): void {
    if (this.end) return;
    this.end = end;
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return this.finish();
    // Until the close completes, nothing more is typed or shown.
    this.restoreTerminal();
    if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
    else ws.close(1000, end.kind === 'detached' ? 'detached' : 'interrupted');
    this.closeTimer = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
  }

  /** The socket is closed (by either side): put the terminal back, say why, resolve. */
  private finish(closeCode?: number): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.closeTimer);
    clearInterval(this.pingTimer);
    this.restoreTerminal();
    for (const c of this.cleanups.splice(0)) c();
    const end: ConsoleEnd = this.end ?? this.serverSaid ?? { kind: 'dropped', closeCode, error: this.socketError, wasReady: this.ready };
    this.end = end;
    const { line, exitCode } = describeEnd(end);
    // Start on a fresh line: the VM's prompt usually leaves the cursor mid-line.
    this.opts.stderr.write((this.ready ? '\r\n' : '') + line + '\n');
    this.resolve(exitCode);
  }

  private restoreTerminal(): void {
    if (!this.rawMode) return;
    this.rawMode = false;
    try {
      this.opts.stdin.setRawMode(false);
    } catch {
      // The terminal is gone (hangup): nothing to restore.
    }
  }
}
