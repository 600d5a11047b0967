import { ApiError, type Action, type ActionLogLine, type ApiClient, type StreamEvent } from '@twarga/contract';
import yoctoSpinner from 'yocto-spinner';
import { CliError, EXIT, isUnreachable } from './exit-codes.js';
import { openEventStream, type StreamHandlers } from './sse.js';

export interface WaitOptions {
  client: ApiClient;
  baseUrl: string;
  token: string;
  /** Log lines and the spinner go here (stderr: stdout stays the command's one result). */
  stderr: NodeJS.WriteStream;
  /** Show a spinner (a TTY, not --json). */
  spinner: boolean;
  /** The spinner's text, e.g. "creating web-1". */
  label: string;
  /** Poll interval while the live stream is up (a safety net) and while it is down (the fallback). */
  pollMs?: { streaming: number; fallback: number };
  /** Give up after this long (the action goes on on the server). */
  timeoutMs?: number;
  /** Tests swap the live stream. */
  openStream?: (baseUrl: string, token: string, handlers: StreamHandlers) => { close: () => void };
}

// Network hiccups while polling are retried; this many in a row means the server is gone.
const MAX_POLL_FAILURES = 10;

/**
 * Follows an action until it completes or errors: live `action` and `action_log` events from
 * the SSE stream, with polling of /api/actions/{id} (and its log) as a fallback when the stream
 * is down and as a check when it is up. Prints each log line once. Throws exit 6 when it errored.
 */
export async function waitForAction(action: Action, opts: WaitOptions): Promise<Action> {
  const pollMs = opts.pollMs ?? { streaming: 3000, fallback: 1000 };
  const seen = new Set<string>();
  const spinner = opts.spinner ? yoctoSpinner({ text: opts.label, stream: opts.stderr }).start() : undefined;

  const printLine = (l: ActionLogLine) => {
    const key = `${l.at}\u0000${l.line}`;
    if (seen.has(key)) return;
    seen.add(key);
    if (spinner) spinner.clear();
    opts.stderr.write(`  ${l.line}\n`);
    if (spinner) spinner.start();
  };

  const final = await new Promise<Action>((resolve, reject) => {
    let settled = false;
    let streaming = false;
    let failures = 0;
    let inFlight = false;
    let timer: NodeJS.Timeout | undefined;
    const deadline = opts.timeoutMs ? setTimeout(() => fail(new CliError(`gave up waiting for action ${action.id} after ${Math.round(opts.timeoutMs! / 1000)} s (it goes on on the server)`, EXIT.error, 'timeout')), opts.timeoutMs) : undefined;

    const cleanup = () => {
      settled = true;
      if (timer) clearTimeout(timer);
      if (deadline) clearTimeout(deadline);
      stream.close();
    };
    const fail = (err: unknown) => {
      if (settled) return;
      cleanup();
      reject(err);
    };
    const finish = (done: Action) => {
      if (settled) return;
      cleanup();
      // The last lines may still be on their way: read the stored log once more.
      opts.client.actions.log(done.id).then(
        (log) => (log.lines.forEach(printLine), resolve(done)),
        () => resolve(done),
      );
    };

    const poll = async () => {
      if (settled || inFlight) return;
      inFlight = true;
      try {
        const [current, log] = await Promise.all([opts.client.actions.get(action.id), opts.client.actions.log(action.id)]);
        failures = 0;
        log.lines.forEach(printLine);
        if (current.status !== 'in-progress') return finish(current);
      } catch (err) {
        if (err instanceof ApiError || !isUnreachable(err) || ++failures >= MAX_POLL_FAILURES) return fail(err);
      } finally {
        inFlight = false;
      }
      if (!settled) timer = setTimeout(poll, streaming ? pollMs.streaming : pollMs.fallback);
    };

    const onEvent = (e: StreamEvent) => {
      if (settled) return;
      if (e.kind === 'action_log' && e.action_id === action.id) printLine(e.line);
      else if (e.kind === 'action' && e.action.id === action.id && e.action.status !== 'in-progress') finish(e.action);
    };
    const stream = (opts.openStream ?? openEventStream)(opts.baseUrl, opts.token, {
      onEvent,
      onOpen: () => {
        streaming = true;
        // Events before the stream opened are missed: catch up from the stored log now.
        if (inFlight) return;
        if (timer) clearTimeout(timer);
        void poll();
      },
      onError: () => {
        streaming = false;
      },
    });
    void poll();
  }).finally(() => spinner?.stop());

  if (final.status === 'errored') {
    throw new CliError(`${final.type} of VM ${final.vm_id} failed: ${final.error ?? 'errored'}`, EXIT.actionErrored, 'action_errored');
  }
  return final;
}
