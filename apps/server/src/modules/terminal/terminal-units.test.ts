import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parseClientMessage } from '@twarga/contract';
import { TestClock } from '../../test-support/harness.js';
import { UserChanges } from '../../lib/user-changes.js';
import type { Identity } from '../auth/identity.js';
import { LiveAccess } from '../auth/live-access.js';
import { seal, unseal } from '../../lib/seal.js';
import { AsciicastRecorder } from './recorder.js';

const silent = { error() {} } as never;
const identityOf = (userId: number, isAdmin: boolean) => ({ user: { id: userId, is_admin: isAdmin } }) as Identity;

describe('live access', () => {
  test('checks asked for during a check fold into one more run, so the last change is always seen', async () => {
    let calls = 0;
    let valid = true;
    const gates: (() => void)[] = [];
    const live = new LiveAccess(
      async () => {
        calls++;
        const answer = valid;
        await new Promise<void>((r) => gates.push(r));
        return answer ? { identity: identityOf(9, false), expiresAt: null } : undefined;
      },
      new UserChanges(), new TestClock(), silent,
    );
    const w = live.watch({ userId: 9, credentialHash: 'h', via: 'api_token' }, () => undefined);
    const first = w.check();
    valid = false; // the credential is revoked while the first check is reading
    const second = w.check();
    const third = w.check();
    gates.shift()!();
    await new Promise((r) => setImmediate(r));
    gates.shift()!();
    assert.equal(await first, false);
    assert.equal(await second, false);
    assert.equal(await third, false);
    assert.equal(calls, 2, 'three asks, two reads: the one running and one after it');
    assert.equal(w.revoked?.cause, 'credential');
  });

  test('a failed re-check ends access (fail closed)', async () => {
    const live = new LiveAccess(async () => { throw new Error('database down'); }, new UserChanges(), new TestClock(), silent);
    const w = live.watch({ userId: 1, credentialHash: 'h', via: 'session' }, () => undefined);
    const seen: string[] = [];
    w.onRevoked((r) => seen.push(r.message));
    assert.equal(await w.check(), false);
    assert.deepEqual(seen, ['the server could not confirm your access']);
  });

  test('the credential is checked again when it expires, without any change', async () => {
    const clock = new TestClock();
    let valid = true;
    const live = new LiveAccess(async () => (valid ? { identity: identityOf(2, false), expiresAt: new Date(clock.now().getTime() + 50).toISOString() } : undefined), new UserChanges(), clock, silent);
    const w = live.watch({ userId: 2, credentialHash: 'h', via: 'session' }, () => undefined);
    assert.equal(await w.check(), true);
    valid = false;
    const ended = new Promise((r) => w.onRevoked(r));
    const keepAlive = setTimeout(() => {}, 5_000); // the expiry timer itself does not hold the process open
    await ended;
    clearTimeout(keepAlive);
    assert.equal(w.revoked?.cause, 'credential');
  });
});

describe('terminal protocol', () => {
  test('control messages are parsed strictly', () => {
    assert.deepEqual(parseClientMessage('{"type":"resize","cols":120,"rows":40}'), { type: 'resize', cols: 120, rows: 40 });
    assert.deepEqual(parseClientMessage('{"type":"ping","id":5}'), { type: 'ping', id: 5 });
    for (const bad of ['', 'null', '[]', '{"type":"resize","cols":0,"rows":40}', '{"type":"resize","cols":"80","rows":24}', '{"type":"auth","ticket":""}', '{"type":"exec"}'])
      assert.equal(parseClientMessage(bad), undefined, bad);
  });
});

describe('console key sealing', () => {
  test('round-trips, and fails with another key or a tampered text', () => {
    const key = Buffer.alloc(32, 1).toString('base64url');
    const sealed = seal(key, 'private key');
    assert.equal(unseal(key, sealed), 'private key');
    assert.throws(() => unseal(Buffer.alloc(32, 2).toString('base64url'), sealed));
    const parts = sealed.split(':');
    parts[3] = Buffer.from('other').toString('base64url');
    assert.throws(() => unseal(key, parts.join(':')));
  });
});

describe('asciicast recorder', () => {
  test('writes a v2 header and events, keeps split UTF-8 whole, stops with a marker at the size cap', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'twarga-cast-'));
    const file = path.join(dir, '1.cast');
    const rec = new AsciicastRecorder(file, { width: 80, height: 24, title: 't', timestamp: 1, maxBytes: 4096 });
    const euro = Buffer.from('€');
    rec.output(euro.subarray(0, 1));
    rec.output(euro.subarray(1));
    rec.resize(100, 30);
    for (let i = 0; i < 200; i++) rec.output(Buffer.from(`line ${i}\r\n`));
    await rec.close();
    const [header, ...lines] = readFileSync(file, 'utf8').trimEnd().split('\n');
    assert.deepEqual(JSON.parse(header!), { version: 2, width: 80, height: 24, timestamp: 1, title: 't', env: { TERM: 'xterm-256color' } });
    const events = lines.map((l) => JSON.parse(l) as [number, string, string]);
    assert.equal(events.filter((e) => e[1] === 'o').map((e) => e[2]).join('').slice(0, 1), '€');
    assert.deepEqual(events.find((e) => e[1] === 'r')?.[2], '100x30');
    assert.equal(events.at(-1)?.[1], 'm');
    assert.ok(rec.truncated);
    assert.ok(readFileSync(file).length <= 4096);
    rmSync(dir, { recursive: true });
  });
});
