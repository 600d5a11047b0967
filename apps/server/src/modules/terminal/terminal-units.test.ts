import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parseClientMessage } from '@twarga/contract';
import { TestClock } from '../../test-support/harness.js';
import { seal, unseal } from './console-keys.js';
import { AsciicastRecorder } from './recorder.js';
import { TicketBook } from './tickets.js';

const grant = { userId: 7, isAdmin: false, vmId: 3, kind: 'serial' as const, cols: 80, rows: 24, sourceIp: '127.0.0.1' };

describe('terminal tickets', () => {
  test('redeem once; a replay is reported as reused, a late one as expired, a made-up one as unknown', () => {
    const clock = new TestClock();
    const book = new TicketBook(30_000, clock);
    const { ticket } = book.issue(grant);
    assert.equal(book.pending(7), 1);
    assert.deepEqual(book.redeem(ticket), { ok: true, grant });
    assert.deepEqual(book.redeem(ticket), { ok: false, reason: 'ticket_reused' });
    assert.equal(book.pending(7), 0);
    const late = book.issue(grant).ticket;
    clock.advanceMinutes(1);
    assert.deepEqual(book.redeem(late), { ok: false, reason: 'ticket_expired' });
    assert.deepEqual(book.redeem('x'.repeat(43)), { ok: false, reason: 'ticket_unknown' });
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
