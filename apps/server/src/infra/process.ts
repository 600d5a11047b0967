import { execFile, spawn } from 'node:child_process';
import path from 'node:path';

/** The only module that starts processes: argv arrays (never a shell), a timeout, and a signal. */
export interface RunOptions {
  timeoutMs: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Largest stdout/stderr kept, in bytes. */
  maxBuffer?: number;
  /** Each line of output (stdout and stderr) as it comes, e.g. for an action's progress log. */
  onLine?: (line: string) => void;
  /** Sent on timeout or abort; default SIGKILL. SIGTERM lets a script's trap clean up after itself. */
  killSignal?: NodeJS.Signals;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly timedOut: boolean,
  ) {
    // The reason first (the tail of stderr, whose last line usually says why), then which program:
    // a long line is shortened in its middle so its end, the reason, always survives.
    const reason = stderrTail(stderr);
    const program = path.basename(command);
    super(timedOut ? `timed out${reason ? `: ${reason}` : ''} (${program})` : `${reason || 'no output'} (${program} exit ${exitCode ?? 'signal'})`);
    this.name = 'CommandError';
  }
}

/** The last lines of a command's error output, each shortened in the middle if long, at most ~600 characters. */
export function stderrTail(stderr: string, maxLines = 5): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean).slice(-maxLines);
  const joined = lines.map((l) => (l.length > 300 ? `${l.slice(0, 80)} … ${l.slice(-200)}` : l)).join(' | ');
  return joined.length > 600 ? `… ${joined.slice(-600)}` : joined;
}

export function run(command: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      {
        timeout: options.timeoutMs,
        killSignal: options.killSignal ?? 'SIGKILL',
        cwd: options.cwd,
        env: options.env,
        signal: options.signal,
        maxBuffer: options.maxBuffer ?? 4 * 1024 * 1024,
        encoding: 'utf8',
        shell: false,
      },
      (err, stdout, stderr) => {
        if (!err) return resolve({ stdout, stderr });
        const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean; signal?: string };
        const timedOut = e.killed === true && e.signal === (options.killSignal ?? 'SIGKILL') && !options.signal?.aborted;
        // Never err.message for a command that ran: it is "Command failed: <the whole argv>", which
        // pushed the reason out of the message. A spawn failure (ENOENT…) has no output but says why.
        const output = stderr.trim() ? stderr : stdout.trim() ? stdout : typeof e.code === 'string' ? e.message : '';
        reject(new CommandError(command, typeof e.code === 'number' ? e.code : null, output, timedOut));
      },
    );
    // Nothing is ever written to a command's stdin: closed, so a program that asks a question
    // (virsh asking whether to accept an unknown SSH host key) gets EOF at once instead of hanging.
    child.stdin?.end();
    if (options.onLine) {
      for (const stream of [child.stdout, child.stderr]) streamLines(stream, options.onLine);
    }
  });
}

function streamLines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  let partial = '';
  stream?.on('data', (d: Buffer | string) => {
    const lines = (partial + d.toString()).split(/\r?\n/);
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) onLine(line);
  });
  stream?.on('end', () => partial.trim() && onLine(partial));
}

/**
 * Starts a command and watches its combined output until `until` matches (→ true) or the
 * timeout passes (→ false). The process is killed either way. Used for boot probes.
 */
export function watchOutput(
  command: string,
  args: readonly string[],
  options: { timeoutMs: number; until: (output: string) => boolean; cwd?: string },
): Promise<{ matched: boolean; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'], shell: false });
    let output = '';
    let done = false;
    const finish = (matched: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      resolve({ matched, output: output.slice(-4000) });
    };
    const timer = setTimeout(() => finish(false), options.timeoutMs);
    const onData = (d: Buffer) => {
      output += d.toString('utf8');
      if (options.until(output)) finish(true);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', () => finish(false));
    child.on('exit', () => finish(options.until(output)));
  });
}
