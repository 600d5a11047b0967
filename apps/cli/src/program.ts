import { Command, CommanderError } from 'commander';
import { CommandContext, type Io } from './client.js';
import { registerAuth } from './commands/auth.js';
import { registerCatalog } from './commands/catalog.js';
import { registerCompletion } from './commands/completion.js';
import { registerContext } from './commands/context.js';
import { registerEvents } from './commands/events.js';
import { registerKeys } from './commands/keys.js';
import { registerMetrics } from './commands/metrics.js';
import { registerTokens } from './commands/tokens.js';
import { registerVm } from './commands/vm.js';
import { EXIT, EXIT_CODES_HELP, exitCodeFor, formatError } from './exit-codes.js';

/** What an action handler gets: the context, then commander's positional arguments and options. */
export type Handler = (ctx: CommandContext, ...args: any[]) => Promise<number | void> | number | void;

/** Shared by the command modules: wraps a handler so it receives its context and can set the exit code. */
export interface Registrar {
  io: Io;
  action: (handler: Handler) => (...args: any[]) => Promise<void>;
}

export const VERSION = '0.1.0';

const EPILOG = `
Configuration: \${XDG_CONFIG_HOME:-~/.config}/twarga/config.json (mode 0600), written by \`twarga login\`.
Each of --url, --token and --context overrides TWARGA_URL, TWARGA_TOKEN and TWARGA_CONTEXT, which
override the current context.

${EXIT_CODES_HELP}`;

export function buildProgram(io: Io, state: { exitCode: number }): Command {
  const program = new Command('twarga');
  program
    .description('Twarga Cloud from the command line')
    .version(VERSION, '-V, --version')
    .option('--url <url>', 'server URL (env TWARGA_URL)')
    .option('--token <token>', 'API token (env TWARGA_TOKEN)')
    .option('--context <name>', 'saved context to use (env TWARGA_CONTEXT)')
    .option('--json', 'machine-readable JSON output')
    .showHelpAfterError('(run with --help for usage)')
    .showSuggestionAfterError()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride()
    .addHelpText('after', EPILOG);

  const registrar: Registrar = {
    io,
    action:
      (handler) =>
      async (...args: any[]) => {
        const command = args[args.length - 1] as Command;
        const code = await handler(new CommandContext(io, command), ...args);
        if (typeof code === 'number') state.exitCode = code;
      },
  };
  registerAuth(program, registrar);
  registerContext(program, registrar);
  registerVm(program, registrar);
  registerKeys(program, registrar);
  registerTokens(program, registrar);
  registerCatalog(program, registrar);
  registerEvents(program, registrar);
  registerMetrics(program, registrar);
  registerCompletion(program, registrar);
  return program;
}

/** Runs the CLI on `argv` (without node and the script) and returns the exit code; never calls process.exit. */
export async function runCli(argv: string[], io: Io): Promise<number> {
  const state = { exitCode: EXIT.ok as number };
  const program = buildProgram(io, state);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return state.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end "with an error" by design; commander already printed what to print.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.ok;
      return EXIT.usage;
    }
    io.stderr.write(formatError(err) + '\n');
    return exitCodeFor(err);
  }
}
