/**
 * `npm run backup -- DIR`: a consistent copy of a running (or stopped) server's state into DIR.
 * The database online (SQLite's backup API, or pg_dump), the secrets, config.json, the VMs'
 * metadata and the terminal recordings. VM disks and images are not copied (see NOT_INCLUDED).
 * Settings come from the same loader as the server's, so it finds the same data dir and database.
 */
import { chmod, copyFile, lstat, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { loadConfig, type Config } from '../config/config.js';
import { run } from '../infra/process.js';
import {
  DATA_PREFIX, FORMAT, FORMAT_VERSION, MANIFEST, NOT_INCLUDED, OpsError, PG_COMMAND_TIMEOUT_MS, PG_DUMP_FILE, SQLITE_FILE, UsageError,
  cliPath, dataDirFiles, formatBytes, isMain, parseArgs, runCli, postgresEnv, serverVersion, sha256File, splitPostgresUrl, type Manifest, type ManifestFile,
} from './backup-format.js';

export interface BackupResult {
  dir: string;
  manifest: Manifest;
  bytes: number;
  ms: number;
}

export async function backup(options: { dir: string; config: Config }): Promise<BackupResult> {
  const started = Date.now();
  const { config } = options;
  const dir = path.resolve(options.dir);
  const dataDir = path.resolve(config.dataDir);
  const rel = path.relative(dataDir, dir);
  if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))) {
    throw new OpsError(`the backup directory ${dir} is inside the data dir ${dataDir}: put backups elsewhere (a copy of the data dir must not hold its own backups)`);
  }
  const sqliteFile = path.join(dataDir, 'twarga.db');
  if (!config.databaseUrl && !(await lstat(sqliteFile).catch(() => undefined))?.isFile()) {
    throw new OpsError(`no database at ${sqliteFile}: is ${dataDir} the data dir (TWARGA_DATA_DIR) of a server that has started?`);
  }
  if (!(await lstat(path.join(dataDir, 'secrets.json')).catch(() => undefined))?.isFile()) {
    throw new OpsError(`no secrets.json in ${dataDir}: is it the data dir (TWARGA_DATA_DIR) of a server that has started?`);
  }
  await prepareEmptyDir(dir);

  try {
    const files: ManifestFile[] = [];
    const add = async (relPath: string) => files.push({ path: relPath, ...(await sha256File(path.join(dir, relPath))) });

    // The database first: the metadata copied after it is then at least as new as the rows.
    let migrations: string[];
    let location: string;
    if (config.databaseUrl) {
      const pgUrl = splitPostgresUrl(config.databaseUrl);
      location = pgUrl.display;
      // Which processes ran, where, and what they relayed is about this cluster, not the backup's:
      // a restore on another machine starts a cluster of its own (cluster/machine-place.ts).
      const clusterOnly = ['cluster_settings', 'server_processes', 'live_relay'].map((t) => `--exclude-table-data=${t}`);
      await run('pg_dump', ['--format=custom', '--no-password', ...clusterOnly, `--file=${path.join(dir, PG_DUMP_FILE)}`, `--dbname=${pgUrl.url}`], {
        timeoutMs: PG_COMMAND_TIMEOUT_MS,
        env: postgresEnv(pgUrl.password),
      });
      await chmod(path.join(dir, PG_DUMP_FILE), 0o600);
      migrations = await pgMigrations(config.databaseUrl);
      await add(PG_DUMP_FILE);
    } else {
      location = sqliteFile;
      migrations = await copySqlite(sqliteFile, path.join(dir, SQLITE_FILE));
      await add(SQLITE_FILE);
    }

    for (const relPath of await dataDirFiles(dataDir)) {
      const target = path.join(dir, DATA_PREFIX, relPath);
      await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
      try {
        await copyFile(path.join(dataDir, relPath), target);
      } catch (err) {
        // A VM destroyed or a recording pruned between the listing and the copy: nothing to keep.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && relPath !== 'secrets.json') continue;
        throw err;
      }
      await chmod(target, 0o600);
      await add(`${DATA_PREFIX}${relPath}`);
    }

    const manifest: Manifest = {
      format: FORMAT,
      version: FORMAT_VERSION,
      created_at: new Date().toISOString(),
      twarga_version: serverVersion(),
      database: { kind: config.databaseUrl ? 'postgres' : 'sqlite', file: config.databaseUrl ? PG_DUMP_FILE : SQLITE_FILE, migrations },
      source: { data_dir: dataDir, database: location },
      files,
      not_included: NOT_INCLUDED,
    };
    // Last, through a temporary name: a directory with a manifest holds a complete backup.
    await writeFile(path.join(dir, `${MANIFEST}.tmp`), JSON.stringify(manifest, null, 2) + '\n', { mode: 0o600 });
    await rename(path.join(dir, `${MANIFEST}.tmp`), path.join(dir, MANIFEST));
    return { dir, manifest, bytes: files.reduce((s, f) => s + f.size, 0), ms: Date.now() - started };
  } catch (err) {
    // The directory was empty: leave it so, rather than a half backup that looks like one.
    for (const name of await readdir(dir).catch(() => [] as string[])) await rm(path.join(dir, name), { recursive: true, force: true });
    throw err;
  }
}

/** DIR must not exist or be empty; it is made (or left) private, 0700. */
async function prepareEmptyDir(dir: string): Promise<void> {
  const st = await lstat(dir).catch(() => undefined);
  if (st && !st.isDirectory()) throw new OpsError(`${dir} exists and is not a directory`);
  if (st) {
    const entries = await readdir(dir);
    if (entries.length > 0) throw new OpsError(`${dir} is not empty (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''}): give each backup a new directory`);
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}

/**
 * SQLite's online backup API on a connection of our own: the server keeps reading and writing
 * (WAL). The copy is taken in one step, so it is one consistent snapshot (a write by the server
 * between steps would make SQLite start the copy again). Then checked, and left a single file.
 */
async function copySqlite(source: string, target: string): Promise<string[]> {
  const db = new SQLite(source, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 10000');
    await db.backup(target, { progress: () => 0x7fffffff });
  } finally {
    db.close();
  }
  await chmod(target, 0o600);
  const copy = new SQLite(target, { fileMustExist: true });
  try {
    copy.pragma('journal_mode = DELETE');
    const check = copy.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new OpsError(`the database copy failed its check: ${String(check)}`);
    return (copy.prepare('SELECT name FROM twarga_migrations ORDER BY name').all() as { name: string }[]).map((r) => r.name);
  } finally {
    copy.close();
  }
}

async function pgMigrations(url: string): Promise<string[]> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return (await client.query<{ name: string }>('SELECT name FROM twarga_migrations ORDER BY name')).rows.map((r) => r.name);
  } finally {
    await client.end();
  }
}

const USAGE = 'usage: npm run backup -- DIR   (settings as for the server: TWARGA_DATA_DIR, TWARGA_DATABASE_URL, TWARGA_CONFIG)';

async function main(argv: string[]): Promise<void> {
  process.umask(0o077);
  const { positional } = parseArgs(argv, []);
  if (positional.length !== 1) throw new UsageError(USAGE);
  const result = await backup({ dir: cliPath(positional[0]!), config: loadConfig() });
  const { manifest } = result;
  process.stdout.write(
    `backup written to ${result.dir}\n` +
      `  database: ${manifest.database.kind} (${manifest.source.database}), ${manifest.database.migrations.length} migrations\n` +
      `  files: ${manifest.files.length}, ${formatBytes(result.bytes)}, in ${(result.ms / 1000).toFixed(1)} s\n` +
      `  not included: ${manifest.not_included.join('; ')}\n`,
  );
}

if (isMain(import.meta.url)) runCli(main);
