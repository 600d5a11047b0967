import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { ApiClient } from '@twarga/contract';
import { serverJs, startServer } from '../support/server.js';

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
