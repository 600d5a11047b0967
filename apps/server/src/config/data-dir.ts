import { chmodSync, lstatSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from './config.js';

/**
 * Files directly in the data dir that hold secrets or users' data. SQLite gives its -wal and -shm
 * files the database file's mode, but ones left by an older version keep theirs: all are fixed.
 * (config.json may hold a PostgreSQL password.)
 */
const PRIVATE_FILES = ['twarga.db', 'twarga.db-wal', 'twarga.db-shm', 'secrets.json', 'config.json', 'accel.json'];

/** What a data dir may hold before the first start: the admin's config.json, a volume's lost+found. */
const BEFORE_FIRST_START = new Set(['config.json', 'lost+found']);

/**
 * Makes the data dir readable by this user only (0700), even when it already existed with a
 * looser mode, and its top-level private files 0600. Everything the server and its child
 * processes create later is private through the umask server.ts sets. Nothing in the data dir
 * is meant for other users: libvirt gets disks and seeds by `virsh vol-upload`, not by path.
 */
export function makeDataDirPrivate(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  try {
    if ((statSync(dataDir).mode & 0o777) !== 0o700) {
      // TWARGA_DATA_DIR=/srv by mistake must not lock every other user out of /srv.
      const entries = readdirSync(dataDir);
      const ours = entries.includes('secrets.json') || entries.includes('twarga.db');
      const foreign = entries.filter((e) => !BEFORE_FIRST_START.has(e));
      if (!ours && foreign.length > 0) {
        throw new ConfigError(`data dir ${dataDir} (TWARGA_DATA_DIR) already holds other files (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''}): give Twarga a directory of its own, e.g. ${path.join(dataDir, 'twarga')}`);
      }
      chmodSync(dataDir, 0o700);
    }
    for (const name of PRIVATE_FILES) {
      const file = path.join(dataDir, name);
      const st = lstatSync(file, { throwIfNoEntry: false });
      // Never follow a symlink out of the data dir and change a file elsewhere.
      if (st?.isFile() && (st.mode & 0o077) !== 0) chmodSync(file, 0o600);
    }
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new Error(`cannot make the data dir ${dataDir} private (run the server as its owner): ${(err as Error).message}`, { cause: err });
  }
}
