import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { buildApp } from '../app.js';
import { defaultConfig } from '../config/config.js';
import { loadOrCreateSecrets } from '../config/secrets.js';
import { openDatabase, type DatabaseHandle } from '../db/database.js';
import { FakeDriver } from '../test-support/fake-driver.js';

/**
 * A real full disk: a small tmpfs (root only; CI runs as root and must not skip) holds the SQLite
 * database, or a PostgreSQL tablespace. Writes then fail with SQLITE_FULL / 53100, which the API
 * must answer as 507 insufficient_storage, log with their real cause, and /health must report.
 */
const isRoot = process.getuid?.() === 0;
const skip = isRoot ? false : 'needs root to mount a tmpfs';
if (!isRoot && process.env.CI) throw new Error('CI must run the disk-full tests as root');

const PASSWORD = 'correct horse battery';
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test';

function mountTmpfs(dir: string, sizeMb: number, owner?: number): void {
  const opts = [`size=${sizeMb}m`, owner !== undefined ? `uid=${owner},mode=0700` : 'mode=0700'].join(',');
  execFileSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', dir], { timeout: 10_000 });
}

function unmount(dir: string): void {
  execFileSync('umount', [dir], { timeout: 10_000 });
}

/** Writes zeros until the filesystem refuses: the disk is then really full. */
function fill(file: string): void {
  const fd = openSync(file, 'w');
  try {
    for (const size of [1024 * 1024, 4096, 512, 1]) {
      const buf = Buffer.alloc(size);
      try {
        for (;;) writeSync(fd, buf);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      }
    }
  } finally {
    closeSync(fd);
  }
}

async function start(database: DatabaseHandle, dataDir: string) {
  const logs: string[] = [];
  const { app } = await buildApp({
    config: { ...defaultConfig(), dataDir, minFreeDiskMb: 1, registerRateLimitPerHour: 1000, loginRateLimitPerMinute: 1000, webDir: '/nonexistent-web-dir' },
    secrets: loadOrCreateSecrets(dataDir),
    database,
    logger: { level: 'warn', stream: { write: (line: string) => void logs.push(line) } },
    driver: new FakeDriver(),
  });
  await app.ready();
  const register = (username: string) =>
    app.inject({ method: 'POST', url: '/api/auth/register', payload: { username, email: `${username}@example.com`, password: PASSWORD } });
  return { app, logs, register };
}

describe('a full disk under SQLite', { skip }, () => {
  let dir: string;
  let database: DatabaseHandle;
  let s: Awaited<ReturnType<typeof start>>;
  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'twarga-full-'));
    mountTmpfs(dir, 16);
    database = await openDatabase({ dataDir: dir });
    s = await start(database, dir);
  });
  after(async () => {
    await s?.app.close();
    await database?.close();
    unmount(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  test('writes answer 507 insufficient_storage, the log names SQLITE_FULL, /health fails; all recover once space is back', async () => {
    assert.equal((await s.register('before')).statusCode, 201);
    const healthy = await s.app.inject({ method: 'GET', url: '/health' });
    assert.equal(healthy.statusCode, 200, healthy.body);
    assert.equal(healthy.json().status, 'healthy');

    const filler = path.join(dir, 'filler');
    fill(filler);
    const res = await s.register('during');
    assert.equal(res.statusCode, 507, res.body);
    assert.equal(res.json().code, 'insufficient_storage');
    assert.match(res.json().message, /out of storage space/);
    assert.doesNotMatch(res.body, /sqlite|SQLITE|twarga\.db|stack/);
    const log = s.logs.join('\n');
    assert.match(log, /SQLITE_FULL/, 'the real cause is logged');
    assert.doesNotMatch(log, /cannot rollback/, 'not the failed ROLLBACK that used to hide it');

    const health = await s.app.inject({ method: 'GET', url: '/health' });
    assert.equal(health.statusCode, 503, health.body);
    const body = health.json();
    assert.equal(body.status, 'failed');
    assert.equal(body.database, 'error');
    const check = (name: string) => body.checks.find((c: { name: string }) => c.name === name);
    assert.equal(check('database_read').status, 'ok');
    assert.deepEqual(check('database_write'), { name: 'database_write', status: 'failed', detail: 'writes fail: the database storage is full' });
    assert.equal(check('disk_space').status, 'failed');

    rmSync(filler);
    const back = await s.app.inject({ method: 'GET', url: '/health' });
    assert.equal(back.statusCode, 200, back.body);
    assert.equal(back.json().status, 'degraded', 'writes work again; the recent failure is still reported');
    assert.match(back.json().checks.find((c: { name: string }) => c.name === 'database_write').detail, /failed for lack of storage \d+ s ago/);
    assert.equal((await s.register('after')).statusCode, 201);
  });
});

describe('a full tablespace under PostgreSQL', { skip: skip || (process.env.TWARGA_TEST_PG_URL ? false : 'TWARGA_TEST_PG_URL is not set') }, () => {
  if (!process.env.TWARGA_TEST_PG_URL && process.env.CI) throw new Error('CI must run the PostgreSQL disk-full test');
  const suffix = randomBytes(4).toString('hex');
  const dbName = `twarga_full_${suffix}`;
  const space = `twarga_full_${suffix}`;
  let mountDir: string;
  let dataDir: string;
  let database: DatabaseHandle;
  let s: Awaited<ReturnType<typeof start>>;
  const admin = async <T>(fn: (c: pg.Client) => Promise<T>) => {
    const c = new pg.Client({ connectionString: process.env.TWARGA_TEST_PG_URL });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };
  before(async () => {
    // The PostgreSQL server runs on this machine as the postgres user: the tablespace's directory is ours to size.
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8', timeout: 5000 }).trim());
    mountDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-pgfull-'));
    mountTmpfs(mountDir, 24, uid);
    const location = path.join(mountDir, 'ts');
    mkdirSync(location, { mode: 0o700 });
    execFileSync('chown', ['postgres', location], { timeout: 5000 });
    await admin(async (c) => {
      await c.query(`CREATE TABLESPACE ${space} LOCATION '${location}'`);
      await c.query(`CREATE DATABASE ${dbName} TABLESPACE ${space}`);
    });
    const url = new URL(process.env.TWARGA_TEST_PG_URL!);
    url.pathname = `/${dbName}`;
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-test-'));
    database = await openDatabase({ url: url.toString(), dataDir });
    s = await start(database, dataDir);
  });
  after(async () => {
    await s?.app.close();
    await database?.close();
    await admin(async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await c.query(`DROP TABLESPACE IF EXISTS ${space}`);
    });
    unmount(mountDir);
    rmSync(mountDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('a write that needs space answers 507 insufficient_storage (SQLSTATE 53100), and works again once space is back', async () => {
    assert.equal((await s.register('writer')).statusCode, 201);
    const login = await s.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'writer', password: PASSWORD } });
    const token = login.json().access_token as string;
    const addKey = () => s.app.inject({ method: 'POST', url: '/api/account/keys', headers: { authorization: `Bearer ${token}` }, payload: { name: 'k', public_key: KEY } });

    const filler = path.join(mountDir, 'filler');
    fill(filler);
    // ssh_keys has no page yet: the insert must extend its file on the full tablespace.
    const res = await addKey();
    assert.equal(res.statusCode, 507, res.body);
    assert.equal(res.json().code, 'insufficient_storage');
    assert.doesNotMatch(res.body, /postgres|extend|No space|pg_tblspc/i);
    assert.match(s.logs.join('\n'), /53100/, 'the real cause is logged');
    // The health probe's one-row update fits in its page and still commits; the failed request is reported.
    const health = await s.app.inject({ method: 'GET', url: '/health' });
    assert.equal(health.json().status, 'degraded', health.body);
    const write = health.json().checks.find((c: { name: string }) => c.name === 'database_write');
    assert.equal(write.status, 'degraded');
    assert.match(write.detail, /a request failed for lack of storage \d+ s ago/);

    rmSync(filler);
    assert.equal((await addKey()).statusCode, 201);
  });
});
