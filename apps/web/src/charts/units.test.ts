import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatBytes, formatPercent, formatRate, percentOf } from './units';

test('bytes use binary prefixes, rates say per second, and a missing value is a dash, never 0', () => {
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(256 * 1024 * 1024), '256 MiB');
  assert.equal(formatBytes(3.25 * 1024 ** 3), '3.3 GiB');
  assert.equal(formatRate(2048), '2.0 KiB/s');
  assert.equal(formatPercent(7.25), '7.3 %');
  assert.equal(formatPercent(93.4), '93 %');
  for (const f of [formatBytes, formatRate, formatPercent]) assert.equal(f(null), '—');
  assert.equal(percentOf(null, 100), null);
  assert.equal(percentOf(50, null), null);
  assert.equal(percentOf(0, 100), 0);
  assert.equal(percentOf(25, 200), 12.5);
});
