import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { freezeGuest } from './guest-freeze.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'twarga-freeze-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** A fake qemu-ga: answers the sync, and freeze/thaw as `freeze` says (undefined: never answers). */
async function fakeAgent(freeze: number | undefined) {
  const sock = path.join(dir, `qga-${n++}.sock`);
  const commands: string[] = [];
  const server = net.createServer((c) => {
    let buf = '';
    c.on('data', (d: Buffer) => {
      buf += Buffer.from(d.filter((b) => b !== 0xff)).toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const req = JSON.parse(buf.slice(0, nl)) as { execute: string; arguments?: { id?: number } };
        buf = buf.slice(nl + 1);
        commands.push(req.execute);
        if (req.execute === 'guest-sync-delimited') c.write(Buffer.concat([Buffer.from([0xff]), Buffer.from(JSON.stringify({ return: req.arguments!.id }) + '\n')]));
        else if (req.execute === 'guest-fsfreeze-freeze' && freeze !== undefined) c.write(JSON.stringify({ return: freeze }) + '\n');
        else if (req.execute === 'guest-fsfreeze-thaw') c.write(JSON.stringify({ return: freeze ?? 1 }) + '\n');
      }
    });
    c.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(sock, r));
  return { sock, commands, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const fast = { connectMs: 500, freezeMs: 300, thawMs: 1000 };

test('freeze: the agent froze filesystems; thaw runs once however often it is called', async () => {
  const agent = await fakeAgent(2);
  try {
    const f = await freezeGuest(agent.sock, fast);
    assert.equal(f.frozen, 2);
    assert.equal(f.reason, undefined);
    assert.ok(!agent.commands.includes('guest-fsfreeze-thaw'), 'still frozen until thaw()');
    await f.thaw();
    await f.thaw();
    assert.equal(agent.commands.filter((c) => c === 'guest-fsfreeze-thaw').length, 1);
  } finally {
    await agent.close();
  }
});

test('freeze: an agent that never answers the freeze is thawed anyway (it may freeze late), and counts as not quiesced', async () => {
  const agent = await fakeAgent(undefined);
  try {
    const f = await freezeGuest(agent.sock, fast);
    assert.equal(f.frozen, 0);
    assert.match(f.reason ?? '', /fsfreeze failed: .*timed out/);
    // Thawed on a fresh session before freezeGuest returned.
    assert.ok(agent.commands.includes('guest-fsfreeze-thaw'));
  } finally {
    await agent.close();
  }
});

test('freeze: nothing to freeze, or no agent at all, is no error: just not quiesced', async () => {
  const agent = await fakeAgent(0);
  try {
    const f = await freezeGuest(agent.sock, fast);
    assert.equal(f.frozen, 0);
    assert.match(f.reason ?? '', /no filesystem to freeze/);
  } finally {
    await agent.close();
  }
  const none = await freezeGuest(path.join(dir, 'missing.sock'), fast);
  assert.equal(none.frozen, 0);
  assert.match(none.reason ?? '', /guest agent silent/);
  await none.thaw();
});
