import { hostname } from 'node:os';
import { ApiClient, ApiError } from '@twarga/contract';
import type { Command } from 'commander';
import { normalizeUrl, type CommandContext } from '../client.js';
import { contextNameFor, saveConfig } from '../config.js';
import { CliError, EXIT } from '../exit-codes.js';
import { renderFields } from '../output.js';
import { ask, readAllStdin } from '../prompt.js';
import type { Registrar } from '../program.js';

interface LoginOptions {
  username?: string;
  passwordStdin?: boolean;
  name?: string;
}

/** The personal token a password login creates: one per machine, easy to spot in `tokens list`. */
export function cliTokenName(host = hostname()): string {
  return `twarga-cli@${host}`.slice(0, 64);
}

async function login(ctx: CommandContext, o: LoginOptions): Promise<void> {
  const env = ctx.io.env;
  const current = ctx.config().current ? ctx.config().contexts[ctx.config().current!] : undefined;
  const rawUrl = ctx.opts.url ?? env.TWARGA_URL ?? current?.url;
  if (!rawUrl) throw new CliError('which server? pass --url URL (or set TWARGA_URL)', EXIT.usage, 'no_url');
  const url = normalizeUrl(rawUrl);

  let token = ctx.opts.token;
  let tokenId: number | undefined;
  if (token && (o.username || o.passwordStdin)) throw new CliError('give either --token or a username and password, not both', EXIT.usage, 'usage');
  if (!token) {
    const { stdin, stderr } = ctx.io;
    const username = o.username ?? (stdin.isTTY ? await ask(stdin, stderr, 'Username: ') : undefined);
    if (!username) throw new CliError('pass --username (stdin is not a terminal to ask on)', EXIT.usage, 'usage');
    let password: string;
    if (o.passwordStdin) password = await readAllStdin(stdin);
    else if (stdin.isTTY) password = await ask(stdin, stderr, 'Password: ', true);
    else throw new CliError('pass --password-stdin to read the password from a pipe, or use --token', EXIT.usage, 'usage');
    if (!password) throw new CliError('empty password', EXIT.usage, 'usage');

    // The session only mints a personal API token (what is stored), then is logged out.
    const session = await new ApiClient({ baseUrl: url }).auth.login(username, password);
    const asSession = new ApiClient({ baseUrl: url, token: session.access_token });
    try {
      const created = await asSession.account.tokens.create({ name: cliTokenName(), scope: 'read-write' });
      token = created.token;
      tokenId = created.id;
    } finally {
      await asSession.auth.logout().catch(() => undefined);
    }
  }

  // Proves the token works (and reads the name) before anything is saved.
  const me = await new ApiClient({ baseUrl: url, token }).auth.me();
  const config = ctx.config();
  const name = o.name ?? ctx.opts.context ?? contextNameFor(url);
  config.contexts[name] = { url, token, username: me.username, ...(tokenId ? { token_id: tokenId } : {}) };
  config.current = name;
  saveConfig(ctx.configPath, config);
  ctx.out.result({ context: name, url, username: me.username, token_id: tokenId ?? null }, () => `Logged in to ${url} as ${me.username} (context "${name}").`);
}

async function logout(ctx: CommandContext): Promise<void> {
  const config = ctx.config();
  const name = ctx.opts.context ?? ctx.io.env.TWARGA_CONTEXT ?? config.current;
  const saved = name ? config.contexts[name] : undefined;
  if (!name || !saved) throw new CliError('not logged in (no current context)', EXIT.usage, 'no_context');
  // Revokes only the token `login` created; a token given with --token is the user's to keep.
  if (saved.token_id) {
    try {
      await new ApiClient({ baseUrl: saved.url, token: saved.token }).account.tokens.revoke(saved.token_id);
    } catch (err) {
      // Already revoked or expired: nothing left to revoke, forget it anyway.
      if (!(err instanceof ApiError && (err.status === 401 || err.status === 404))) throw err;
    }
  }
  delete config.contexts[name];
  if (config.current === name) config.current = undefined;
  saveConfig(ctx.configPath, config);
  ctx.out.result({ context: name, revoked: !!saved.token_id }, () => `Logged out of ${saved.url} (context "${name}" removed${saved.token_id ? ', token revoked' : ''}).`);
}

async function whoami(ctx: CommandContext): Promise<void> {
  const target = ctx.target();
  const me = await ctx.client().auth.me();
  ctx.out.result(me, () =>
    renderFields([
      ['username', me.username],
      ['email', me.email],
      ['admin', me.is_admin ? 'yes' : 'no'],
      ['credits', me.credits],
      ['server', target.url],
      ['context', target.contextName],
    ]),
  );
}

export function registerAuth(program: Command, r: Registrar): void {
  program
    .command('login')
    .description('log in to a server and save it as a context (password: creates a personal API token)')
    .option('--username <name>', 'user name (asked on a terminal if missing)')
    .option('--password-stdin', 'read the password from standard input')
    .option('--name <context>', 'name of the context to save (default: the server host)')
    .addHelpText('after', '\nUse the global --url for the server and --token to save an existing API token instead of a password.')
    .action(r.action((ctx, o: LoginOptions) => login(ctx, o)));
  program
    .command('logout')
    .description('revoke the token login created and forget the context')
    .action(r.action((ctx) => logout(ctx)));
  program
    .command('whoami')
    .description('show who you are logged in as')
    .action(r.action((ctx) => whoami(ctx)));
}
