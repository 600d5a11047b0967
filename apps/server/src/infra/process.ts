import { execFile } from 'node:child_process';

/** The only module that starts processes: argv arrays (never a shell), a timeout, and a signal. */
export interface RunOptions {
  timeoutMs: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Largest stdout/stderr kept, in bytes. */
  maxBuffer?: number;
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
    super(
      timedOut
        ? `${command} timed out`
        : `${command} failed (exit ${exitCode ?? 'signal'}): ${stderr.trim().split('\n').slice(-5).join(' | ').slice(0, 500)}`,
    );
    this.name = 'CommandError';
  }
}

export function run(command: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      {
        timeout: options.timeoutMs,
        killSignal: 'SIGKILL',
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
        const timedOut = e.killed === true && e.signal === 'SIGKILL';
        reject(new CommandError(command, typeof e.code === 'number' ? e.code : null, stderr || e.message, timedOut));
      },
    );
  });
}
