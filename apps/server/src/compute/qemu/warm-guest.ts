import { QgaClient, QgaError } from './qga-client.js';

export interface GuestExecResult {
  exitcode: number;
  stdout: string;
  stderr: string;
}

/** Connects to the guest agent, retrying (a restored or booting guest answers within moments) until the deadline. */
export async function connectAgent(socketPath: string, deadline: number): Promise<QgaClient> {
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await QgaClient.connect(socketPath, Math.max(200, Math.min(5000, deadline - Date.now())));
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  throw new QgaError(`guest agent did not answer: ${last instanceof Error ? last.message : String(last)}`);
}

/**
 * Runs a program in the guest through the agent (guest-exec, capture-output) and waits for it
 * to exit (guest-exec-status polled every few ms) or the deadline. Never a shell on our side:
 * the program and its arguments are an argv.
 */
export async function guestExec(qga: QgaClient, program: string, args: string[], deadline: number): Promise<GuestExecResult> {
  const started = await qga.execute<{ pid: number }>('guest-exec', { path: program, arg: args, 'capture-output': true }, remaining(deadline));
  for (;;) {
    const status = await qga.execute<{ exited: boolean; exitcode?: number; signal?: number; 'out-data'?: string; 'err-data'?: string }>('guest-exec-status', { pid: started.pid }, remaining(deadline));
    if (status.exited) {
      return {
        exitcode: status.exitcode ?? (status.signal ? 128 + status.signal : -1),
        stdout: Buffer.from(status['out-data'] ?? '', 'base64').toString('utf8'),
        stderr: Buffer.from(status['err-data'] ?? '', 'base64').toString('utf8'),
      };
    }
    if (Date.now() > deadline) throw new QgaError(`${program} did not exit in time`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const remaining = (deadline: number) => Math.max(100, deadline - Date.now());
