import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from './config.js';
import { loadOrCreateSecrets } from './secrets.js';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'twarga-config-'));

describe('configuration', () => {
  test('defaults: 127.0.0.1:8080, SQLite (no database URL), registration open', () => {
    const dir = tmp();
    const c = loadConfig({ TWARGA_DATA_DIR: dir });
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.port, 8080);
    assert.equal(c.databaseUrl, undefined);
    assert.equal(c.dataDir, dir);
    assert.equal(c.allowRegistration, true);
    assert.equal(c.adminPassword, undefined, 'no default password');
    rmSync(dir, { recursive: true });
  });

  test('environment variables override the config file, which overrides defaults', () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ port: 9000, host: '0.0.0.0', lockoutThreshold: 7 }));
    const c = loadConfig({ TWARGA_DATA_DIR: dir, TWARGA_PORT: '9100', TWARGA_DATABASE_URL: 'postgres://u@localhost/db', TWARGA_ALLOW_REGISTRATION: 'false' });
    assert.equal(c.port, 9100);
    assert.equal(c.host, '0.0.0.0');
    assert.equal(c.lockoutThreshold, 7);
    assert.equal(c.databaseUrl, 'postgres://u@localhost/db');
    assert.equal(c.allowRegistration, false);
    rmSync(dir, { recursive: true });
  });

  test('invalid settings stop the start with a message naming the variable', () => {
    const dir = tmp();
    assert.throws(() => loadConfig({ TWARGA_DATA_DIR: dir, TWARGA_PORT: 'eighty' }), (e: Error) => e instanceof ConfigError && /TWARGA_PORT/.test(e.message));
    assert.throws(() => loadConfig({ TWARGA_DATA_DIR: dir, TWARGA_PORT: '70000' }), /TWARGA_PORT/);
    assert.throws(() => loadConfig({ TWARGA_DATA_DIR: dir, TWARGA_DATABASE_URL: 'mysql://x' }), /TWARGA_DATABASE_URL/);
    assert.throws(() => loadConfig({ TWARGA_DATA_DIR: dir, TWARGA_ADMIN_PASSWORD: 'short' }), /TWARGA_ADMIN_PASSWORD/);
    assert.throws(() => loadConfig({ TWARGA_DATA_DIR: dir, TWARGA_TRUST_PROXY: 'maybe' }), /TWARGA_TRUST_PROXY/);
    writeFileSync(path.join(dir, 'config.json'), '{ not json');
    assert.throws(() => loadConfig({ TWARGA_DATA_DIR: dir }), /not valid JSON/);
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ colour: 'blue' }));
    assert.throws(() => loadConfig({ TWARGA_DATA_DIR: dir }), /invalid configuration/);
    rmSync(dir, { recursive: true });
  });
});

describe('secrets', () => {
  test('generated on first start, stored with mode 0600, and reused afterwards', () => {
    const dir = tmp();
    const first = loadOrCreateSecrets(dir);
    const file = path.join(dir, 'secrets.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.ok(first.csrfKey.length >= 40);
    assert.deepEqual(loadOrCreateSecrets(dir), first);
    const other = tmp();
    assert.notEqual(loadOrCreateSecrets(other).csrfKey, first.csrfKey, 'every instance has its own');
    assert.ok(JSON.parse(readFileSync(file, 'utf8')).csrfKey);
    rmSync(dir, { recursive: true });
    rmSync(other, { recursive: true });
  });

  test('a secret added by a newer version is generated once; existing ones are kept', () => {
    const dir = tmp();
    const file = path.join(dir, 'secrets.json');
    writeFileSync(file, JSON.stringify({ csrfKey: 'k'.repeat(43) }), { mode: 0o600 });
    const upgraded = loadOrCreateSecrets(dir);
    assert.equal(upgraded.csrfKey, 'k'.repeat(43));
    assert.ok(upgraded.consoleKeyKey.length >= 40);
    assert.deepEqual(loadOrCreateSecrets(dir), upgraded);
    rmSync(dir, { recursive: true });
  });
});
