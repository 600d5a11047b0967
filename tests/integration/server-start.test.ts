import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ApiClient } from '@twarga/contract';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const serverJs = path.join(root, 'apps/server/dist/server.js');

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Runs the built server (what `npm start` runs) until /health answers; returns its output so far. */
async function startServer(env: Record<string, string>) {
  const port = await freePort();
  const child = spawn(process.execPath, [serverJs], {
    env: { PATH: process.env.PATH ?? '', ...env, TWARGA_PORT: String(port), TWARGA_HOST: '127.0.0.1', TWARGA_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited: ${output}`);
    try {
      if ((await fetch(`${base}/health`)).ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`server did not start: ${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  return { base, output: () => output, stop, child };
}

describe('starting the built server (npm start)', () => {
  const dirs: string[] = [];
  const dataDir = () => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'twarga-start-'));
    dirs.push(d);
    return d;
  };
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  test('the build exists', () => assert.ok(existsSync(serverJs), 'run `npm run build` first'));

  test('first start prints a random admin password once; it works; the next start does not print it', async () => {
    const dir = dataDir();
    const first = await startServer({ TWARGA_DATA_DIR: dir });
    let password: string;
    try {
      const match = first.output().match(/password: (\S+)/);
      assert.ok(match, `password printed: ${first.output()}`);
      password = match[1]!;
      assert.ok(password.length >= 16);
      const login = await new ApiClient({ baseUrl: first.base }).auth.login('admin', password);
      const me = await new ApiClient({ baseUrl: first.base, token: login.access_token }).auth.me();
      assert.equal(me.is_admin, true);
    } finally {
      await first.stop();
    }
    assert.equal(statSync(path.join(dir, 'secrets.json')).mode & 0o777, 0o600);
    assert.ok(existsSync(path.join(dir, 'twarga.db')));

    const second = await startServer({ TWARGA_DATA_DIR: dir });
    try {
      assert.doesNotMatch(second.output(), /password:/);
      const login = await new ApiClient({ baseUrl: second.base }).auth.login('admin', password);
      assert.ok(login.access_token, 'same admin, same password after a restart');
    } finally {
      await second.stop();
    }
  });

  test('TWARGA_ADMIN_PASSWORD sets the admin password and nothing is printed', async () => {
    const s = await startServer({ TWARGA_DATA_DIR: dataDir(), TWARGA_ADMIN_PASSWORD: 'my-chosen-admin-pw' });
    try {
      assert.doesNotMatch(s.output(), /password:/);
      const login = await new ApiClient({ baseUrl: s.base }).auth.login('admin', 'my-chosen-admin-pw');
      assert.ok(login.access_token);
    } finally {
      await s.stop();
    }
  });

  test('a bad setting stops the start with a clear message and exit code 2', async () => {
    const child = spawn(process.execPath, [serverJs], { env: { PATH: process.env.PATH ?? '', TWARGA_DATA_DIR: dataDir(), TWARGA_PORT: 'abc' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise((r) => child.once('exit', r));
    assert.equal(code, 2);
    assert.match(err, /TWARGA_PORT/);
  });
});
