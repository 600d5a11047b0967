import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { syncGuestClock } from './guest-clock.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'twarga-clock-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** A fake qemu-ga that records guest-set-time's argument and answers it with `error` (or success). */
async function fakeAgent(error?: string) {
  const sock = path.join(dir, `qga-${n++}.sock`);
  const times: unknown[] = [];
  const server = net.createServer((c) => {
    let buf = '';
    c.on('data', (d: Buffer) => {
      buf += Buffer.from(d.filter((b) => b !== 0xff)).toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const req = JSON.parse(buf.slice(0, nl)) as { execute: string; arguments?: { id?: number; time?: number } };
        buf = buf.slice(nl + 1);
        if (req.execute === 'guest-sync-delimited') c.write(Buffer.concat([Buffer.from([0xff]), Buffer.from(JSON.stringify({ return: req.arguments!.id }) + '\n')]));
        if (req.execute === 'guest-set-time') {
          times.push(req.arguments?.time);
          c.write((error ? JSON.stringify({ error: { class: 'GenericError', desc: error } }) : '{"return": {}}') + '\n');
        }
      }
    });
    c.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(sock, r));
  return { sock, times, close: () => new Promise<void>((r) => server.close(() => r())) };
}

test("guest clock: set to the host's time in nanoseconds; a missing hwclock (RTC not written) still counts as set", async () => {
  const ok = await fakeAgent();
  assert.deepEqual(await syncGuestClock(ok.sock, () => 1_800_000_000_123), { synced: true });
  assert.deepEqual(ok.times, [1_800_000_000_123_000_000]);
  await ok.close();
  const noHwclock = await fakeAgent('hwclock failed to set hardware clock to system time');
  assert.deepEqual(await syncGuestClock(noHwclock.sock), { synced: true });
  await noHwclock.close();
});

test('guest clock: a refusal or a silent agent is reported, never thrown', async () => {
  const refused = await fakeAgent('Failed to set time to guest: Operation not permitted');
  const r = await syncGuestClock(refused.sock);
  assert.equal(r.synced, false);
  assert.match(r.reason ?? '', /Operation not permitted/);
  await refused.close();
  const none = await syncGuestClock(path.join(dir, 'missing.sock'), Date.now, 300);
  assert.equal(none.synced, false);
});
