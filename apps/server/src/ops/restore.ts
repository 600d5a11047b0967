/**
 * `npm run restore -- DIR [--data-dir D]`: puts a backup made by `npm run backup` into an empty
 * (or new) data dir, and for PostgreSQL into the configured, empty database. Every file is
 * checked against the manifest's SHA-256 before anything is written; the target must hold
 * nothing of a server (a server running on it has a database and secrets there already).
 */
import { chmod, copyFile, link, lstat, mkdir, readFile, readdir, rename, rm, rmdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { loadConfig, type Config } from '../config/config.js';
import { confined } from '../infra/fs.js';
import { run } from '../infra/process.js';
import {
  ALLOWED_IN_EMPTY_TARGET, DATA_PREFIX, FORMAT, FORMAT_VERSION, MANIFEST, OpsError, PG_COMMAND_TIMEOUT_MS, UsageError,
  cliPath, formatBytes, isMain, manifestEntryKind, parseArgs, postgresEnv, runCli, sha256File, splitPostgresUrl, type Manifest,
} from './backup-format.js';

export interface RestoreResult {
  dataDir: string;
  manifest: Manifest;
  bytes: number;
  ms: number;
  /** Notes for the operator (a config.json kept, …). */
  notes: string[];
}

export async function restore(options: { dir: string; config: Config }): Promise<RestoreResult> {
  const started = Date.now();
  const dir = path.resolve(options.dir);
  const dataDir = path.resolve(options.config.dataDir);
  const databaseUrl = options.config.databaseUrl;
  const notes: string[] = [];

  const manifest = await verifiedManifest(dir);
  if (manifest.database.kind === 'postgres' && !databaseUrl) {
    throw new OpsError('the backup holds a PostgreSQL database: set TWARGA_DATABASE_URL to the (empty) database to restore it into');
  }
  if (manifest.database.kind === 'sqlite' && databaseUrl) {
    throw new OpsError('the backup holds a SQLite database but TWARGA_DATABASE_URL is set: unset it to restore into the data dir (moving between SQLite and PostgreSQL is not supported)');
  }

  const existing = await targetEntries(dataDir);
  if (existing.includes('config.json') && manifest.files.some((f) => f.path === `${DATA_PREFIX}config.json`)) {
    notes.push(`kept the config.json already in ${dataDir}; the backup's is not restored`);
  }
  if (databaseUrl) await assertEmptyPostgres(databaseUrl);

  // Everything is put together beside the target (or inside it, when it exists: it may be a
  // mount point), then moved into place, so a failure leaves the target as it was.
  const staging = existing.length || (await exists(dataDir)) ? path.join(dataDir, `.restore-${process.pid}`) : path.join(path.dirname(dataDir), `.${path.basename(dataDir)}.restore-${process.pid}`);
  await mkdir(path.dirname(staging), { recursive: true, mode: 0o700 });
  await mkdir(staging, { mode: 0o700 });
  try {
    for (const f of manifest.files) {
      if (manifestEntryKind(f.path) !== 'data') continue;
      const rel = f.path.slice(DATA_PREFIX.length);
      if (rel === 'config.json' && existing.includes('config.json')) continue;
      const target = confined(staging, rel);
      await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
      await copyFile(path.join(dir, f.path), target);
      await chmod(target, 0o600);
    }
    if (manifest.database.kind === 'sqlite') {
      const target = path.join(staging, 'twarga.db');
      await copyFile(path.join(dir, manifest.database.file), target);
      await chmod(target, 0o600);
      checkSqlite(target);
    } else {
      // One transaction: a failed restore leaves the database empty, ready for another try.
      const pgUrl = splitPostgresUrl(databaseUrl!);
      await run(
        'pg_restore',
        ['--single-transaction', '--exit-on-error', '--no-owner', '--no-privileges', '--no-tablespaces', '--no-password', `--dbname=${pgUrl.url}`, path.join(dir, manifest.database.file)],
        { timeoutMs: PG_COMMAND_TIMEOUT_MS, env: postgresEnv(pgUrl.password) },
      );
    }
    await moveIntoPlace(staging, dataDir);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  const bytes = manifest.files.reduce((s, f) => s + f.size, 0);
  return { dataDir, manifest, bytes, ms: Date.now() - started, notes };
}

/** The manifest, after every file it lists was found intact (size and SHA-256). */
async function verifiedManifest(dir: string): Promise<Manifest> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(path.join(dir, MANIFEST), 'utf8')) as Manifest;
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'it has no manifest.json (an unfinished or foreign directory)' : `its manifest.json is unreadable: ${(err as Error).message}`;
    throw new OpsError(`${dir} is not a Twarga backup: ${why}`);
  }
  if (manifest?.format !== FORMAT || !Array.isArray(manifest.files) || !manifest.database) throw new OpsError(`${dir}/manifest.json is not a Twarga backup manifest`);
  if (manifest.version > FORMAT_VERSION) throw new OpsError(`the backup has format version ${manifest.version}; this version reads up to ${FORMAT_VERSION}: restore with the newer Twarga that made it`);
  if (manifest.database.kind !== 'sqlite' && manifest.database.kind !== 'postgres') throw new OpsError(`unknown database kind in the manifest: ${String(manifest.database.kind)}`);
  const names = new Set<string>();
  for (const f of manifest.files) {
    if (typeof f?.path !== 'string' || !manifestEntryKind(f.path) || names.has(f.path)) throw new OpsError(`the manifest lists a path a backup never holds: ${JSON.stringify(f?.path)}`);
    names.add(f.path);
    const file = path.join(dir, f.path);
    const st = await lstat(file).catch(() => undefined);
    if (!st?.isFile()) throw new OpsError(`the backup is incomplete: ${f.path} is missing`);
    const actual = await sha256File(file);
    if (actual.size !== f.size || actual.sha256 !== f.sha256) throw new OpsError(`checksum mismatch for ${f.path}: the backup is damaged or was changed; nothing was restored`);
  }
  if (!names.has(manifest.database.file) || manifestEntryKind(manifest.database.file) !== 'database') throw new OpsError(`the backup is incomplete: its database ${manifest.database.file} is not listed`);
  if (!names.has(`${DATA_PREFIX}secrets.json`)) throw new OpsError('the backup is incomplete: it has no secrets.json (sessions, CSRF and sealed keys depend on it)');
  return manifest;
}

/** What the target already holds that may stay (config.json, lost+found); anything else is a refusal. */
async function targetEntries(dataDir: string): Promise<string[]> {
  const st = await lstat(dataDir).catch(() => undefined);
  if (!st) return [];
  if (!st.isDirectory()) throw new OpsError(`${dataDir} exists and is not a directory`);
  const entries = await readdir(dataDir);
  const other = entries.filter((e) => !ALLOWED_IN_EMPTY_TARGET.has(e));
  if (other.length > 0) {
    throw new OpsError(
      `the data dir ${dataDir} is not empty (${other.slice(0, 4).join(', ')}${other.length > 4 ? ', …' : ''}): restore only into an empty or new data dir. ` +
        'If a server runs on it, stop it; to replace an installation, move its data dir away first (or pass --data-dir)',
    );
  }
  return entries;
}

async function assertEmptyPostgres(url: string): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect().catch((err: Error) => {
    throw new OpsError(`cannot connect to ${splitPostgresUrl(url).display} (TWARGA_DATABASE_URL): ${err.message}`);
  });
  try {
    const { rows } = await client.query<{ n: string }>(
      "SELECT count(*)::text AS n FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace s ON s.oid = c.relnamespace WHERE c.relkind IN ('r','p','v','m','S') AND s.nspname NOT IN ('pg_catalog','information_schema') AND s.nspname NOT LIKE 'pg_toast%' AND s.nspname NOT LIKE 'pg_temp%'",
    );
    const n = Number(rows[0]?.n ?? 0);
    if (n > 0) {
      throw new OpsError(`the database ${splitPostgresUrl(url).display} is not empty (${n} tables, sequences or views): restore needs a new, empty database (a server that ran on it has created its tables; stop it and create a fresh database)`);
    }
  } finally {
    await client.end();
  }
}

function checkSqlite(file: string): void {
  const db = new SQLite(file, { fileMustExist: true });
  try {
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new OpsError(`the backup's database failed its check: ${String(check)}`);
  } finally {
    db.close();
  }
}

/**
 * Moves the staged files into the data dir: in one rename when the data dir does not exist,
 * else entry by entry, never replacing a file that appeared meanwhile (link fails on EEXIST).
 * The database before the secrets: a server sees no secrets.json until the rest is there.
 */
async function moveIntoPlace(staging: string, dataDir: string): Promise<void> {
  if (path.dirname(staging) !== dataDir) {
    await rename(staging, dataDir).catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'ENOTEMPTY' || err.code === 'EEXIST' ? new OpsError(`the data dir ${dataDir} was created while restoring: nothing was restored`) : err;
    });
    await chmod(dataDir, 0o700);
    return;
  }
  const names = (await readdir(staging)).sort((a, b) => Number(a === 'secrets.json') - Number(b === 'secrets.json'));
  for (const name of names) {
    const from = path.join(staging, name);
    const to = path.join(dataDir, name);
    if ((await lstat(from)).isDirectory()) {
      if (await exists(to)) throw new OpsError(`${to} appeared while restoring: is a server starting on ${dataDir}?`);
      await rename(from, to);
    } else {
      await link(from, to).catch((err: NodeJS.ErrnoException) => {
        throw err.code === 'EEXIST' ? new OpsError(`${to} appeared while restoring: is a server starting on ${dataDir}?`) : err;
      });
      await unlink(from);
    }
  }
  await rmdir(staging);
  await chmod(dataDir, 0o700);
}

const exists = async (p: string) => (await lstat(p).catch(() => undefined)) !== undefined;

const USAGE = 'usage: npm run restore -- DIR [--data-dir D]   (D defaults to TWARGA_DATA_DIR; PostgreSQL: TWARGA_DATABASE_URL names the empty target database)';

async function main(argv: string[]): Promise<void> {
  process.umask(0o077);
  const { positional, options } = parseArgs(argv, ['data-dir']);
  if (positional.length !== 1) throw new UsageError(USAGE);
  const config = loadConfig(process.env, options['data-dir'] ? { dataDir: cliPath(options['data-dir']) } : {});
  const result = await restore({ dir: cliPath(positional[0]!), config });
  const { manifest } = result;
  const vms = new Set(manifest.files.map((f) => /^data\/(?:vms|vagrant)\/(vm-[0-9]+)\//.exec(f.path)?.[1]).filter(Boolean));
  process.stdout.write(
    `restored the backup of ${manifest.created_at} into ${result.dataDir}\n` +
      `  database: ${manifest.database.kind}${config.databaseUrl ? ` (${splitPostgresUrl(config.databaseUrl).display})` : ''}, ${manifest.database.migrations.length} migrations\n` +
      `  files: ${manifest.files.length}, ${formatBytes(result.bytes)}, in ${(result.ms / 1000).toFixed(1)} s; metadata of ${vms.size} VMs\n` +
      result.notes.map((n) => `  note: ${n}\n`).join('') +
      '  VM disks are not in a backup: copy each disk.qcow2 back into vms/vm-<id>/ before starting that VM.\n' +
      '  Start the server on this data dir; a VM whose hypervisor no longer runs it comes back as stopped.\n',
  );
}

if (isMain(import.meta.url)) runCli(main);
