import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError, EXIT } from './exit-codes.js';

/** One saved server login, like a doctl context. */
export interface Context {
  url: string;
  token: string;
  username?: string;
  /** The id of the API token `login` created, so `logout` can revoke it. */
  token_id?: number;
}

export interface ConfigFile {
  current?: string;
  contexts: Record<string, Context>;
}

type Env = Record<string, string | undefined>;

/** `${XDG_CONFIG_HOME:-~/.config}/twarga/config.json`. */
export function configPath(env: Env = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'twarga', 'config.json');
}

export function loadConfig(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { contexts: {} };
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as Partial<ConfigFile>;
    return { current: parsed.current, contexts: parsed.contexts ?? {} };
  } catch {
    throw new CliError(`config file ${path} is not valid JSON`, EXIT.error, 'bad_config');
  }
}

/** Writes atomically with mode 0600 (the file holds tokens) in a 0700 directory. */
export function saveConfig(path: string, config: ConfigFile): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  chmodSync(tmp, 0o600); // the umask may have narrowed it, never widened; be explicit anyway
  renameSync(tmp, path);
}

/** The context name a URL gets by default: its host (and port). */
export function contextNameFor(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

export interface TargetFlags {
  url?: string;
  token?: string;
  context?: string;
}

export interface Target {
  url?: string;
  token?: string;
  /** The context the values came from (if any). */
  contextName?: string;
  context?: Context;
}

/**
 * Where and as whom to talk. Each value is taken from the flag, else the environment, else
 * the selected context (--context > TWARGA_CONTEXT > the file's `current`).
 */
export function resolveTarget(flags: TargetFlags, env: Env, config: ConfigFile): Target {
  const contextName = flags.context ?? env.TWARGA_CONTEXT ?? config.current;
  const context = contextName ? config.contexts[contextName] : undefined;
  if ((flags.context || env.TWARGA_CONTEXT) && !context) {
    throw new CliError(`no context named "${contextName}" (see: twarga context list)`, EXIT.usage, 'unknown_context');
  }
  return {
    url: flags.url ?? env.TWARGA_URL ?? context?.url,
    token: flags.token ?? env.TWARGA_TOKEN ?? context?.token,
    contextName: context ? contextName : undefined,
    context,
  };
}
