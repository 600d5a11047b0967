import type { StreamEvent } from '@twarga/contract';
import type { Command } from 'commander';
import type { CommandContext } from '../client.js';
import { CliError, EXIT } from '../exit-codes.js';
import type { Registrar } from '../program.js';
import { openEventStream } from '../sse.js';

/** One human line per event; null for events not shown without --all (metrics samples, hello). */
export function describeEvent(e: StreamEvent, all = false): string | null {
  switch (e.kind) {
    case 'event':
      return `${e.event.timestamp}  ${e.event.severity.padEnd(8)} ${e.event.action}  ${e.event.message}${e.event.count > 1 ? ` (x${e.event.count})` : ''}`;
    case 'vm':
      return `${e.vm.updated_at}  vm       ${e.vm.name} (${e.vm.id}) ${e.vm.status}${e.vm.locked ? ' (locked)' : ''}`;
    case 'action':
      return `${e.action.completed_at ?? e.action.started_at}  action   ${e.action.id} ${e.action.type} of VM ${e.action.vm_id}: ${e.action.status}${e.action.error ? ` (${e.action.error})` : ''}`;
    case 'action_log':
      return `${e.line.at}  log      action ${e.action_id}: ${e.line.line}`;
    case 'alert':
      return `${e.alert.resolved_at ?? e.alert.opened_at}  alert    ${e.alert.state}: ${e.alert.message}`;
    case 'revoked':
      return `stream ended: ${e.message}`;
    default:
      return all ? JSON.stringify(e) : null;
  }
}

/** Prints the live stream until Ctrl-C (or --count events); --json prints one JSON object per line. */
async function tail(ctx: CommandContext, o: { all?: boolean; count?: string }): Promise<number> {
  const { url, token } = ctx.credentials();
  const limit = o.count === undefined ? Infinity : Number(o.count);
  if (!(limit > 0)) throw new CliError('--count must be a positive number', EXIT.usage, 'usage');
  // The stream is only opened after the token is known to work: a clear 401 instead of retries.
  await ctx.client().auth.me();
  return new Promise<number>((resolve, reject) => {
    let printed = 0;
    let opened = false;
    const stream = openEventStream(url, token, {
      onOpen: () => {
        if (!opened) ctx.io.stderr.write(`Following events on ${url} (Ctrl-C to stop)…\n`);
        opened = true;
      },
      onEvent: (e) => {
        if (e.kind === 'hello') return;
        const line = ctx.out.json ? JSON.stringify(e) : describeEvent(e, o.all);
        if (line === null || (ctx.out.json && e.kind === 'metrics' && !o.all)) return;
        ctx.io.stdout.write(line + '\n');
        if (e.kind === 'revoked') {
          stream.close();
          reject(new CliError(`the login behind the stream went away: ${e.message}`, EXIT.auth, 'revoked'));
        } else if (++printed >= limit) {
          stream.close();
          resolve(EXIT.ok);
        }
      },
      onError: (err) => {
        if (err.fatal || err.status === 401 || err.status === 403) {
          stream.close();
          reject(new CliError(`event stream: ${err.message}`, err.status === 401 || err.status === 403 ? EXIT.auth : EXIT.unreachable, err.status ? `http_${err.status}` : 'unreachable'));
        } else ctx.io.stderr.write(`event stream interrupted (${err.message}); reconnecting…\n`);
      },
    });
  });
}

export function registerEvents(program: Command, r: Registrar): void {
  program
    .command('events')
    .description('the live event stream')
    .command('tail')
    .description('print events as they happen (server-sent events)')
    .option('--all', 'also metrics samples and other raw stream messages')
    .option('-n, --count <n>', 'stop after this many events')
    .action(r.action((ctx, o: { all?: boolean; count?: string }) => tail(ctx, o)));
}
