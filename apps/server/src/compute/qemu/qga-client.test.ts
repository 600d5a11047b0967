import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { QgaClient, QgaError } from './qga-client.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'twarga-qga-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/**
 * A fake qemu-ga on a unix socket: gets each request line (0xFF bytes stripped, as the agent's
 * parser drops them) and writes whatever `answer` returns. `stale` is written at connect, as a
 * late answer left in the channel by an earlier client.
 */
async function fakeAgent(answer: (req: { execute: string; arguments?: Record<string, unknown> }) => string | string[] | undefined, stale = '') {
  const sock = path.join(dir, `qga-${n++}.sock`);
  const requests: string[] = [];
  const server = net.createServer((c) => {
    if (stale) c.write(bytes(stale));
    let buf = '';
    c.on('data', (d: Buffer) => {
      buf += Buffer.from(d.filter((b) => b !== 0xff)).toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        requests.push(line);
        const out = answer(JSON.parse(line));
        // Several chunks: written 20 ms apart, so the client sees them as separate reads.
        const chunks = out === undefined ? [] : Array.isArray(out) ? out : [out];
        chunks.forEach((chunk, i) => setTimeout(() => c.write(bytes(chunk)), i * 20));
      }
    });
    c.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(sock, r));
  return { sock, requests, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** Text as UTF-8, except '\xff', which stands for the agent's raw 0xFF delimiter byte. */
const bytes = (text: string) => Buffer.concat(text.split('\xff').flatMap((part, i) => (i ? [Buffer.from([0xff]), Buffer.from(part)] : [Buffer.from(part)])));

const agent = (req: { execute: string; arguments?: Record<string, unknown> }) => {
  if (req.execute === 'guest-sync-delimited') return `\xff${JSON.stringify({ return: req.arguments!.id })}\n`;
  if (req.execute === 'guest-ping') return '{"return": {}}\n';
  if (req.execute === 'guest-info') return '{"return": {"version": "7.2.0"}}\n';
  return `{"error": {"class": "CommandNotFound", "desc": "The command ${req.execute} has not been found"}}\n`;
};

test('qga client: syncs with a random id first, then runs commands one at a time', async () => {
  const fake = await fakeAgent(agent);
  const qga = await QgaClient.connect(fake.sock);
  try {
    assert.deepEqual(await qga.execute('guest-ping'), {});
    assert.deepEqual(await qga.execute('guest-info'), { version: '7.2.0' });
    await assert.rejects(qga.execute('guest-nope'), /CommandNotFound: The command guest-nope has not been found/);
  } finally {
    qga.close();
    await fake.close();
  }
  const sync = JSON.parse(fake.requests[0]!);
  assert.equal(sync.execute, 'guest-sync-delimited');
  assert.ok(Number.isInteger(sync.arguments.id) && sync.arguments.id > 0);
  assert.deepEqual(fake.requests.slice(1).map((l) => JSON.parse(l).execute), ['guest-ping', 'guest-info', 'guest-nope']);
});

test('qga client: stale answers in the channel before the sync are skipped, not taken as ours', async () => {
  // An earlier client's late answers: a sync with another id, an error and a command's result.
  const stale = `\xff{"return": 12345}\n{"error": {"class": "GenericError", "desc": "old"}}\n{"return": {"version": "stale"}}\n`;
  const fake = await fakeAgent(agent, stale);
  const qga = await QgaClient.connect(fake.sock);
  try {
    assert.deepEqual(await qga.execute('guest-info'), { version: '7.2.0' });
  } finally {
    qga.close();
    await fake.close();
  }
});

test('qga client: an answer split across reads, with non-ASCII text, is framed by newline', async () => {
  const fake = await fakeAgent((req) => (req.execute === 'guest-info' ? ['{"return": {"na', 'me": "donn', 'ées"}}\n'] : agent(req)));
  const qga = await QgaClient.connect(fake.sock);
  try {
    assert.deepEqual(await qga.execute('guest-info'), { name: 'données' });
  } finally {
    qga.close();
    await fake.close();
  }
});

test('qga client: a silent agent (no sync answer) is a QgaError within the timeout', async () => {
  const fake = await fakeAgent(() => undefined);
  const t = Date.now();
  await assert.rejects(QgaClient.connect(fake.sock, 300), (e: Error) => e instanceof QgaError && /timed out after 300 ms/.test(e.message));
  assert.ok(Date.now() - t < 1500);
  await fake.close();
});

test('qga client: a missing socket is a QgaError', async () => {
  await assert.rejects(QgaClient.connect(path.join(dir, 'absent.sock'), 300), QgaError);
});

test('qga client: a command that gets no answer times out; the connection closing rejects', async () => {
  const fake = await fakeAgent((req) => (req.execute === 'guest-sync-delimited' ? agent(req) : undefined));
  const qga = await QgaClient.connect(fake.sock);
  await assert.rejects(qga.execute('guest-ping', undefined, 200), /guest-ping timed out after 200 ms/);
  const pending = qga.execute('guest-ping', undefined, 5000);
  qga.close();
  await assert.rejects(pending, /closed/);
  await fake.close();
});
