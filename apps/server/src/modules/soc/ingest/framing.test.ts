import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SyslogFramer } from './framing.js';

const lines = (framer: SyslogFramer, ...chunks: string[]) => chunks.flatMap((c) => framer.push(Buffer.from(c))).map((f) => ({ line: f.line.toString(), cut: f.cut, bad: f.bad }));
const ok = (line: string) => ({ line, cut: false, bad: false });

test('newline framing, across chunk boundaries, with CRLF and empty lines', () => {
  const f = new SyslogFramer(1024);
  assert.deepEqual(lines(f, '<38>Nov 30 17:00:00 a: one\n<38>Nov 30 17:0', '0:01 a: two\r\n\n<38>Nov 30 17:00:02 a: thr', 'ee\n'), [
    ok('<38>Nov 30 17:00:00 a: one'),
    ok('<38>Nov 30 17:00:01 a: two'),
    ok('<38>Nov 30 17:00:02 a: three'),
  ]);
  // An unfinished line waits for its newline.
  assert.deepEqual(lines(f, '<38>Nov 30 17:00:03 a: four'), []);
  assert.deepEqual(lines(f, '\n'), [ok('<38>Nov 30 17:00:03 a: four')]);
});

test('octet counting (RFC 6587), mixed with newline frames, split anywhere', () => {
  const msg = '<38>1 2026-11-30T17:00:00Z h sshd 1 - - Failed password for root from 1.2.3.4 port 5 ssh2';
  const stream = `${msg.length} ${msg}${msg.length} ${msg}<38>Nov 30 17:00:00 a: plain\n`;
  // Every split point gives the same frames.
  for (let cut = 0; cut < stream.length; cut++) {
    const f = new SyslogFramer(1024);
    assert.deepEqual(lines(f, stream.slice(0, cut), stream.slice(cut)), [ok(msg), ok(msg), ok('<38>Nov 30 17:00:00 a: plain')], `split at ${cut}`);
  }
});

test('oversize frames are cut to maxBytes and the rest skipped; the next frame is intact', () => {
  const f = new SyslogFramer(300);
  const long = `<38>Nov 30 17:00:00 a: ${'x'.repeat(5000)}`;
  const out = lines(f, long.slice(0, 2000), long.slice(2000), '\n<38>Nov 30 17:00:01 a: next\n');
  assert.equal(out.length, 2);
  assert.deepEqual([out[0]!.line.length, out[0]!.cut], [300, true]);
  assert.equal(out[0]!.line, long.slice(0, 300));
  assert.deepEqual(out[1], ok('<38>Nov 30 17:00:01 a: next'));
  // The same with an octet count larger than the limit.
  const g = new SyslogFramer(300);
  const counted = lines(g, `${long.length} ${long.slice(0, 1000)}`, long.slice(1000), '<38>Nov 30 17:00:01 a: next\n');
  assert.deepEqual(counted.map((c) => [c.line.length, c.cut]), [[300, true], [27, false]]);
});

test('a broken octet count is one bad frame; the stream recovers at the next newline', () => {
  const f = new SyslogFramer(300);
  assert.deepEqual(lines(f, '12x garbage\n<38>Nov 30 17:00:01 a: next\n'), [{ line: '12', cut: false, bad: true }, ok('<38>Nov 30 17:00:01 a: next')]);
  // A count too long to be real (10 digits) is refused before anything is buffered for it.
  const g = new SyslogFramer(300);
  assert.deepEqual(lines(g, '99999999999 x\n<38>Nov 30 17:00:01 a: ok\n').map((c) => c.bad), [true, false]);
});

test('memory stays bounded whatever the sender does', () => {
  const f = new SyslogFramer(256);
  for (let i = 0; i < 1000; i++) f.push(Buffer.alloc(4096, 0x61)); // no newline ever
  assert.ok((f as unknown as { pending: Buffer }).pending.length <= 256);
});
