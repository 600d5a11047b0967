import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConfigError } from '../config/config.js';
import { INSTANCE_ID_PATTERN } from '../compute/driver.js';

/**
 * What a backup directory holds and how it is described. Shared by `npm run backup` and
 * `npm run restore`; nothing here talks to a database or starts a process.
 *
 *   DIR/manifest.json        written last: a directory without it is not a backup
 *   DIR/database.sqlite      SQLite: an online copy through SQLite's backup API
 *   DIR/database.pgdump      PostgreSQL: pg_dump --format=custom
 *   DIR/data/<path>          small files of the data dir, at their place in it
 */

export const MANIFEST = 'manifest.json';
export const FORMAT = 'twarga-backup';
export const FORMAT_VERSION = 1;
export const SQLITE_FILE = 'database.sqlite';
export const PG_DUMP_FILE = 'database.pgdump';
export const DATA_PREFIX = 'data/';

export interface ManifestFile {
  /** POSIX path inside the backup directory. */
  path: string;
  size: number;
  sha256: string;
}

export interface Manifest {
  format: typeof FORMAT;
  version: number;
  created_at: string;
  /** The server version that wrote it (apps/server/package.json). */
  twarga_version: string;
  database: { kind: 'sqlite' | 'postgres'; file: string; migrations: string[] };
  source: { data_dir: string; database: string };
  files: ManifestFile[];
  /** Said in the manifest too, so nobody finds out on the day of the restore. */
  not_included: string[];
}

export const NOT_INCLUDED = [
  'VM disks (vms/vm-*/disk.qcow2; libvirt and Vagrant volumes): stop the VM and copy its disk',
  'downloaded images (images/): download them again, or copy the directory',
  'logs (serial.log, qemu.log) and the accel cache (accel.json)',
];

/** Files a server's data dir may hold before its first start (data-dir.ts accepts the same). */
export const ALLOWED_IN_EMPTY_TARGET = new Set(['lost+found', 'config.json']);

/** The data dir's own small files. secrets.json is required: without it sealed data is lost. */
const TOP_FILES = ['secrets.json', 'config.json'];
/** Per QEMU VM (vms/vm-N): what `start` needs besides the disk. Sockets, pidfile and logs are not. */
const QEMU_VM_FILES = ['spec.json', '.vm_info', 'seed.iso'];
/** Per Vagrant VM (vagrant/vm-N), plus its small .vagrant/ machine state. */
const VAGRANT_VM_FILES = ['Vagrantfile', 'spec.json', '.vm_info', 'seed.iso', 'ssh_key'];
/** A .vagrant/ file larger than this is not machine state: left out. */
const VAGRANT_STATE_MAX_BYTES = 1024 * 1024;

/**
 * The data-dir files a backup copies, as POSIX paths relative to the data dir. Only regular
 * files are taken (never a symlink, which could point out of the data dir), found by walking
 * real directories under it.
 */
export async function dataDirFiles(dataDir: string): Promise<string[]> {
  const out: string[] = [];
  const isFile = async (rel: string, maxBytes = Infinity) => {
    const st = await lstat(path.join(dataDir, rel)).catch(() => undefined);
    return !!st && st.isFile() && st.size <= maxBytes;
  };
  const isDir = async (rel: string) => (await lstat(path.join(dataDir, rel)).catch(() => undefined))?.isDirectory() ?? false;
  const children = async (rel: string) => ((await isDir(rel)) ? (await readdir(path.join(dataDir, rel))).sort() : []);

  for (const f of TOP_FILES) if (await isFile(f)) out.push(f);
  for (const id of await children('vms')) {
    if (!INSTANCE_ID_PATTERN.test(id) || !(await isDir(`vms/${id}`))) continue;
    for (const f of QEMU_VM_FILES) if (await isFile(`vms/${id}/${f}`)) out.push(`vms/${id}/${f}`);
  }
  for (const id of await children('vagrant')) {
    if (!INSTANCE_ID_PATTERN.test(id) || !(await isDir(`vagrant/${id}`))) continue;
    for (const f of VAGRANT_VM_FILES) if (await isFile(`vagrant/${id}/${f}`)) out.push(`vagrant/${id}/${f}`);
    const walk = async (rel: string): Promise<void> => {
      for (const name of await children(rel)) {
        const child = `${rel}/${name}`;
        if (await isDir(child)) await walk(child);
        else if (await isFile(child, VAGRANT_STATE_MAX_BYTES)) out.push(child);
      }
    };
    await walk(`vagrant/${id}/.vagrant`);
  }
  // Terminal recordings: sessions in the database point at recordings/<id>.cast.
  for (const name of await children('recordings')) {
    if (/^[0-9]+\.cast$/.test(name) && (await isFile(`recordings/${name}`))) out.push(`recordings/${name}`);
  }
  return out;
}

export async function sha256File(file: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: hash.digest('hex') };
}

/**
 * Where a manifest entry lands, or undefined for a name a backup never writes. Refuses absolute
 * paths, `..` and anything but the database file and data/… (a manifest is read before trusted).
 */
export function manifestEntryKind(p: string): 'database' | 'data' | undefined {
  if (p === SQLITE_FILE || p === PG_DUMP_FILE) return 'database';
  if (!p.startsWith(DATA_PREFIX)) return undefined;
  const rel = p.slice(DATA_PREFIX.length);
  const parts = rel.split('/');
  if (!rel || path.posix.isAbsolute(rel) || parts.some((s) => s === '' || s === '.' || s === '..' || s.includes('\0'))) return undefined;
  return 'data';
}

/** The server's version, from apps/server/package.json (the same relative path from src/ and dist/). */
export function serverVersion(): string {
  const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

/** A PostgreSQL URL without its password (for argv and logs) and the password (for PGPASSWORD). */
export function splitPostgresUrl(url: string): { url: string; password?: string; display: string } {
  const u = new URL(url);
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  u.password = '';
  return { url: u.toString(), password, display: `postgres://${u.host}${u.pathname}` };
}

/** The child environment for pg_dump/pg_restore: the password never on the command line. */
export function postgresEnv(password: string | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.PGPASSWORD;
  if (password !== undefined) env.PGPASSWORD = password;
  return env;
}

/** pg_dump / pg_restore of a large database may take long, but never forever. */
export const PG_COMMAND_TIMEOUT_MS = 6 * 3600_000;

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/**
 * A path typed on the command line, resolved against the directory the operator was in: `npm run`
 * moves into the package root first and leaves that directory in INIT_CWD.
 */
export function cliPath(p: string): string {
  return path.resolve(process.env.INIT_CWD ?? process.cwd(), p);
}

/** `--flag value` options and positional arguments; unknown flags are an error. */
export function parseArgs(argv: string[], flags: string[]): { positional: string[]; options: Record<string, string> } {
  const positional: string[] = [];
  const options: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--')) {
      const [name, inline] = a.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
      if (!flags.includes(name)) throw new UsageError(`unknown option --${name}`);
      const value = inline ?? argv[++i];
      if (value === undefined || value === '') throw new UsageError(`--${name} needs a value`);
      options[name] = value;
    } else positional.push(a);
  }
  return { positional, options };
}

export class UsageError extends Error {}
/** A refusal with a reason the operator can act on (exit code 1, no stack). */
export class OpsError extends Error {}

/** True when this module is the program being run (node …/backup.js), not an import. */
export function isMain(moduleUrl: string): boolean {
  return !!process.argv[1] && moduleUrl === pathToFileURL(path.resolve(process.argv[1])).href;
}

/** Runs a command's main: a usage error exits 2, a refusal 1 with its reason and no stack. */
export function runCli(entry: (argv: string[]) => Promise<void>): void {
  entry(process.argv.slice(2)).catch((err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    const known = err instanceof OpsError || err instanceof ConfigError;
    process.stderr.write(`twarga: ${known ? '' : 'failed: '}${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
