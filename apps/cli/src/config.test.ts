import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { configPath, contextNameFor, loadConfig, resolveTarget, saveConfig, type ConfigFile } from './config.js';
import { CliError, EXIT } from './exit-codes.js';

describe('config file', () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'twarga-cli-config-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  test('lives under XDG_CONFIG_HOME, else ~/.config', () => {
    assert.equal(configPath({ XDG_CONFIG_HOME: '/x/cfg', HOME: '/home/u' }), '/x/cfg/twarga/config.json');
    assert.equal(configPath({ HOME: '/home/u' }), '/home/u/.config/twarga/config.json');
    assert.equal(configPath({ XDG_CONFIG_HOME: '', HOME: '/home/u' }), '/home/u/.config/twarga/config.json');
  });

  test('is written mode 0600 in a 0700 directory (it holds tokens), even under a permissive umask', () => {
    const file = path.join(tmp(), 'nested', 'twarga', 'config.json');
    const old = process.umask(0o000);
    try {
      saveConfig(file, { current: 'a', contexts: { a: { url: 'http://a', token: 'secret' } } });
    } finally {
      process.umask(old);
    }
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(path.dirname(file)).mode & 0o777, 0o700);
    assert.deepEqual(loadConfig(file), { current: 'a', contexts: { a: { url: 'http://a', token: 'secret' } } });
  });

  test('an existing world-readable file becomes 0600 when saved again', () => {
    const file = path.join(tmp(), 'config.json');
    writeFileSync(file, '{"contexts":{}}', { mode: 0o644 });
    saveConfig(file, loadConfig(file));
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });

  test('keeps several contexts and which one is current', () => {
    const file = path.join(tmp(), 'config.json');
    const config: ConfigFile = { contexts: {} };
    config.contexts['lab'] = { url: 'http://lab:8080', token: 't1', username: 'alice', token_id: 3 };
    config.contexts['prod'] = { url: 'https://prod', token: 't2', username: 'bob' };
    config.current = 'prod';
    saveConfig(file, config);
    const back = loadConfig(file);
    assert.equal(back.current, 'prod');
    assert.deepEqual(Object.keys(back.contexts).sort(), ['lab', 'prod']);
    assert.equal(back.contexts['lab']!.token_id, 3);
    assert.match(readFileSync(file, 'utf8'), /"current": "prod"/);
  });

  test('a missing file is an empty config; a broken one is a clear error', () => {
    const dir = tmp();
    assert.deepEqual(loadConfig(path.join(dir, 'none.json')), { contexts: {} });
    writeFileSync(path.join(dir, 'bad.json'), '{nope');
    assert.throws(() => loadConfig(path.join(dir, 'bad.json')), /not valid JSON/);
  });

  test('context names default to the server host and port', () => {
    assert.equal(contextNameFor('http://10.0.0.5:8080'), '10.0.0.5:8080');
    assert.equal(contextNameFor('https://cloud.example.com/'), 'cloud.example.com');
  });
});

describe('precedence: flag > environment > context', () => {
  const config: ConfigFile = {
    current: 'home',
    contexts: { home: { url: 'http://home', token: 'home-token' }, work: { url: 'http://work', token: 'work-token' } },
  };

  test('the current context alone', () => {
    assert.deepEqual(resolveTarget({}, {}, config), { url: 'http://home', token: 'home-token', contextName: 'home', context: config.contexts['home'] });
  });
  test('the environment beats the context, value by value', () => {
    const t = resolveTarget({}, { TWARGA_TOKEN: 'env-token' }, config);
    assert.equal(t.token, 'env-token');
    assert.equal(t.url, 'http://home');
    assert.equal(resolveTarget({}, { TWARGA_URL: 'http://env' }, config).url, 'http://env');
  });
  test('flags beat the environment', () => {
    const t = resolveTarget({ url: 'http://flag', token: 'flag-token' }, { TWARGA_URL: 'http://env', TWARGA_TOKEN: 'env-token' }, config);
    assert.equal(t.url, 'http://flag');
    assert.equal(t.token, 'flag-token');
  });
  test('--context beats TWARGA_CONTEXT, which beats current', () => {
    assert.equal(resolveTarget({}, { TWARGA_CONTEXT: 'work' }, config).token, 'work-token');
    assert.equal(resolveTarget({ context: 'home' }, { TWARGA_CONTEXT: 'work' }, config).token, 'home-token');
  });
  test('naming a context that does not exist is a usage error, not a silent fallback', () => {
    assert.throws(
      () => resolveTarget({ context: 'nope' }, {}, config),
      (err) => err instanceof CliError && err.exitCode === EXIT.usage && /no context named "nope"/.test(err.message),
    );
  });
  test('no config and no flags: nothing to talk to', () => {
    assert.deepEqual(resolveTarget({}, {}, { contexts: {} }), { url: undefined, token: undefined, contextName: undefined, context: undefined });
  });
});
