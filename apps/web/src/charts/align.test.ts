import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alignHistory, isoSeconds } from './align';

const at = (s: number) => new Date(Date.UTC(2026, 10, 30, 12, 0, s)).toISOString();
const sec = (s: number) => Date.UTC(2026, 10, 30, 12, 0, s) / 1000;
const pt = (s: number, v: number | null) => ({ t: at(s), avg: v, min: v, max: v });

test('series share one time axis; a missing point is null (a gap), never 0', () => {
  const data = alignHistory(
    {
      step: 5,
      series: [
        { metric: 'cpu_percent', points: [pt(0, 10), pt(5, 20), pt(10, 30)] },
        // The guest agent did not answer at 5 s: no point there.
        { metric: 'guest_memory_used_bytes', points: [pt(0, 100), pt(10, 300)] },
      ],
    },
    ['cpu_percent', 'guest_memory_used_bytes'],
  );
  assert.deepEqual(data, [[sec(0), sec(5), sec(10)], [10, 20, 30], [100, null, 300]]);
});

test('a hole in the history breaks the line instead of bridging it', () => {
  const data = alignHistory({ step: 5, series: [{ metric: 'cpu_percent', points: [pt(0, 10), pt(5, 20), pt(50, 40)] }] }, ['cpu_percent']);
  assert.deepEqual(data[0], [sec(0), sec(5), sec(10), sec(50)]);
  assert.deepEqual(data[1], [10, 20, null, 40]);
});

test('a pushed null value stays a gap; an unknown metric is an empty series; values can be transformed', () => {
  const data = alignHistory({ step: 5, series: [{ metric: 'fs_used_bytes', points: [pt(0, 50), pt(5, null)] }] }, ['fs_used_bytes', 'nope'], (_m, v) => v * 2);
  assert.deepEqual(data, [[sec(0), sec(5)], [100, null], [null, null]]);
  assert.deepEqual(alignHistory(undefined, ['a', 'b']), [[], [], []]);
});

test('the fast timestamp reader agrees with Date.parse, across minutes, hours, days and formats', () => {
  const base = Date.UTC(2026, 11, 31, 23, 58, 0);
  const inputs: string[] = [];
  for (let i = 0; i < 400; i++) inputs.push(new Date(base + i * 1_250).toISOString());
  inputs.push('2026-11-30T12:00:05Z', '2026-11-30T12:00:07Z', '2026-11-30T12:00:07.5Z', '2026-11-30T12:00:07+01:00', '2026-11-30T12:00:09.000Z');
  for (const t of inputs) assert.equal(isoSeconds(t), Date.parse(t) / 1000, t);
});
