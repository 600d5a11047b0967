import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { cell, formatBytes, formatDuration, Output, renderFields, renderTable } from './output.js';

const capture = () => {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d) => (text += d));
  return { stream, text: () => text };
};

describe('output', () => {
  test('tables: upper-case headers, aligned columns, no borders, "-" for missing values', () => {
    const rows = [
      { id: 1, name: 'web-1', ip: '10.0.2.15' },
      { id: 22, name: 'db', ip: null },
    ];
    const text = renderTable(rows, [
      { header: 'id', get: (r) => r.id },
      { header: 'name', get: (r) => r.name },
      { header: 'ip', get: (r) => r.ip },
    ]);
    const lines = text.split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /^ID\s+NAME\s+IP$/);
    assert.match(lines[1]!, /^1\s+web-1\s+10\.0\.2\.15$/);
    assert.match(lines[2]!, /^22\s+db\s+-$/);
    // Columns line up: NAME starts at the same offset on every line.
    assert.equal(lines[0]!.indexOf('NAME'), lines[1]!.indexOf('web-1'));
    assert.equal(lines[1]!.indexOf('web-1'), lines[2]!.indexOf('db'));
    assert.doesNotMatch(text, /[│┌─]/);
  });

  test('cells', () => {
    assert.equal(cell(null), '-');
    assert.equal(cell(''), '-');
    assert.equal(cell([]), '-');
    assert.equal(cell(['a', 'b']), 'a,b');
    assert.equal(cell(0), '0');
    assert.equal(cell(false), 'false');
  });

  test('--json prints one parseable document with the raw data; human mode prints the rendering', () => {
    const json = capture();
    new Output(true, json.stream).table([{ id: 1, token: 'x' }], [{ header: 'id', get: (r) => r.id }]);
    assert.deepEqual(JSON.parse(json.text()), [{ id: 1, token: 'x' }]);

    const human = capture();
    new Output(false, human.stream).table([{ id: 1 }], [{ header: 'id', get: (r) => r.id }]);
    assert.equal(human.text(), 'ID\n1\n');

    const empty = capture();
    new Output(false, empty.stream).table([], [{ header: 'id', get: () => 1 }]);
    assert.equal(empty.text(), '(none)\n');
    const emptyJson = capture();
    new Output(true, emptyJson.stream).table([], [{ header: 'id', get: () => 1 }]);
    assert.deepEqual(JSON.parse(emptyJson.text()), []);
  });

  test('info lines are for people only: never mixed into --json output', () => {
    const json = capture();
    const out = new Output(true, json.stream);
    out.info('Creating VM…');
    out.result({ id: 1 }, () => 'human');
    assert.deepEqual(JSON.parse(json.text()), { id: 1 });
  });

  test('fields, bytes and durations', () => {
    assert.equal(renderFields([['id', 1], ['name', 'web'], ['ip', null]]), 'id:   1\nname: web\nip:   -');
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(3 * 1024 ** 3), '3.0 GiB');
    assert.equal(formatBytes(null), '-');
    assert.equal(formatDuration(59), '59s');
    assert.equal(formatDuration(3661), '1h1m');
    assert.equal(formatDuration(90061), '1d1h');
  });
});
