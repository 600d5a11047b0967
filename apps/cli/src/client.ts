import { ApiClient, type SshKey, type Vm } from '@twarga/contract';
import type { Command } from 'commander';
import { configPath, loadConfig, resolveTarget, type ConfigFile, type Target } from './config.js';
import { CliError, EXIT } from './exit-codes.js';
import { Output } from './output.js';

/** Where the CLI reads and writes: the real process, or a test's streams and environment. */
export interface Io {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: Record<string, string | undefined>;
}

export interface GlobalOptions {
  url?: string;
  token?: string;
  context?: string;
  json?: boolean;
}

/** Everything a command needs: its output, the config file, and (on demand) an authenticated client. */
export class CommandContext {
  readonly out: Output;
  readonly opts: GlobalOptions;
  readonly configPath: string;
  private cached?: ConfigFile;

  constructor(
    readonly io: Io,
    command: Command,
  ) {
    this.opts = command.optsWithGlobals<GlobalOptions>();
    this.out = new Output(!!this.opts.json, io.stdout);
    this.configPath = configPath(io.env);
  }

  config(): ConfigFile {
    return (this.cached ??= loadConfig(this.configPath));
  }

  target(): Target {
    return resolveTarget(this.opts, this.io.env, this.config());
  }

  /** The server's URL and a token, or a clear "log in first" (exit 4). */
  credentials(): { url: string; token: string } {
    const t = this.target();
    if (!t.url && !t.token) throw new CliError('not logged in: run `twarga login --url URL`, or pass --url and --token (or set TWARGA_URL and TWARGA_TOKEN)', EXIT.auth, 'unauthorized');
    if (!t.url) throw new CliError('no server URL: run `twarga login --url URL`, or pass --url / set TWARGA_URL', EXIT.usage, 'no_url');
    if (!t.token) throw new CliError('not logged in: run `twarga login`, or pass --token / set TWARGA_TOKEN', EXIT.auth, 'unauthorized');
    return { url: normalizeUrl(t.url), token: t.token };
  }

  client(): ApiClient {
    const { url, token } = this.credentials();
    return new ApiClient({ baseUrl: url, token });
  }

  /** Progress for people on a terminal goes to stderr, so stdout stays one clean result. */
  get interactive(): boolean {
    return !!this.io.stderr.isTTY && !this.opts.json;
  }
}

/** "host:8080" → "http://host:8080"; no trailing slash. */
export function normalizeUrl(url: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `http://${url}`;
  try {
    new URL(withScheme);
  } catch {
    throw new CliError(`not a URL: ${url}`, EXIT.usage, 'bad_url');
  }
  return withScheme.replace(/\/+$/, '');
}

/** A VM by name or numeric id among the caller's VMs (a name wins: names may be all digits); exit 3 when none. */
export async function resolveVm(client: ApiClient, ref: string): Promise<Vm> {
  const vms = await client.vms.list();
  const vm = vms.find((v) => v.name === ref) ?? (/^\d+$/.test(ref) ? vms.find((v) => v.id === Number(ref)) : undefined);
  if (vm) return vm;
  // Not in the list: an admin may name someone else's VM by id.
  if (/^\d+$/.test(ref)) return client.vms.get(Number(ref));
  throw new CliError(`no VM named "${ref}"`, EXIT.notFound, 'not_found');
}

/** A key by id, name or fingerprint (SHA256:… or MD5 colon hex). */
export async function resolveKey(client: ApiClient, ref: string): Promise<SshKey> {
  const keys = await client.account.keys.list();
  const key =
    keys.find((k) => k.name === ref || k.fingerprint === ref || k.fingerprint_md5 === ref) ?? (/^\d+$/.test(ref) ? keys.find((k) => k.id === Number(ref)) : undefined);
  if (!key) throw new CliError(`no SSH key "${ref}"`, EXIT.notFound, 'not_found');
  return key;
}
