import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EscapeDetector, type EscapeEvent } from './escape.js';

/** Feeds each chunk in turn; returns the events with data shown as text. */
function run(...chunks: string[]): (string | { type: 'help' | 'detach' })[] {
  const d = new EscapeDetector();
  const all: EscapeEvent[] = chunks.flatMap((c) => d.feed(Buffer.from(c, 'latin1')));
  return all.map((e) => (e.type === 'data' ? e.data.toString('latin1') : { type: e.type }));
}
/** What reaches the VM. */
const sent = (...chunks: string[]) => run(...chunks).filter((e) => typeof e === 'string').join('');
const detaches = (...chunks: string[]) => run(...chunks).some((e) => typeof e !== 'string' && e.type === 'detach');

describe('console escape detector (Enter ~ .)', () => {
  test('~. at the very start detaches and sends nothing', () => {
    assert.deepEqual(run('~.'), [{ type: 'detach' }]);
  });

  test('Enter ~ . detaches after sending the Enter; what follows in the chunk is dropped', () => {
    assert.deepEqual(run('ls\r~.rm -rf /\r'), ['ls\r', { type: 'detach' }]);
  });

  test('a line feed starts a line too (pasted text)', () => {
    assert.deepEqual(run('echo a\n~.'), ['echo a\n', { type: 'detach' }]);
  });

  test('keys typed one by one, as from a keyboard in raw mode', () => {
    assert.deepEqual(run('l', 's', '\r', '~', '.'), ['l', 's', '\r', { type: 'detach' }]);
  });

  test('a ~ inside a line goes through at once and never detaches', () => {
    assert.equal(sent('cd ~.\r'), 'cd ~.\r');
    assert.equal(detaches('cd ~.\r'), false);
    assert.equal(detaches('x', '~', '.'), false);
    assert.deepEqual(run('x~'), ['x~']);
  });

  test('~~ at the start of a line sends one ~, and the line is no longer at its start', () => {
    assert.deepEqual(run('~~'), ['~']);
    assert.equal(sent('~', '~', '.'), '~.');
    assert.equal(detaches('~~.'), false);
    assert.equal(sent('\r~~/x\r'), '\r~/x\r');
  });

  test('~ then another key sends both (so ~/path typed first still works)', () => {
    assert.equal(sent('~/bin\r'), '~/bin\r');
    assert.deepEqual(run('~', 'x'), ['~x']);
  });

  test('~ then Enter sends both and the next line can still escape', () => {
    assert.deepEqual(run('~\r~.'), ['~\r', { type: 'detach' }]);
  });

  test('a held ~ is not sent until the next key says what it is', () => {
    const d = new EscapeDetector();
    assert.deepEqual(d.feed(Buffer.from('\r~')), [{ type: 'data', data: Buffer.from('\r') }]);
    assert.equal(d.pending, true);
    assert.deepEqual(d.feed(Buffer.from('a')), [{ type: 'data', data: Buffer.from('~a') }]);
    assert.equal(d.pending, false);
  });

  test('~? asks for help, sends nothing, and leaves the line at its start', () => {
    assert.deepEqual(run('~?'), [{ type: 'help' }]);
    assert.deepEqual(run('ab\r~?~.'), ['ab\r', { type: 'help' }, { type: 'detach' }]);
  });

  test('Ctrl-C and other control keys are plain bytes and do not start a line', () => {
    assert.equal(sent('\x03~.'), '\x03~.');
    assert.equal(detaches('\x03~.'), false);
    assert.equal(sent('\x1b[A'), '\x1b[A');
  });

  test('binary-safe: every byte other than the escapes passes unchanged', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i).filter((b) => b !== 0x7e));
    const d = new EscapeDetector();
    const out = Buffer.concat(d.feed(all).map((e) => (e.type === 'data' ? e.data : Buffer.alloc(0))));
    assert.deepEqual(out, all);
  });
});
