import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const root = path.resolve(import.meta.dirname, '..');

/** Every test file under tests/ that starts real VMs, with the SSH port range it gives its server. */
function ranges(): { file: string; from: number; to: number }[] {
  const found: { file: string; from: number; to: number }[] = [];
  for (const dir of ['integration', 'e2e']) {
    for (const name of readdirSync(path.join(root, dir)).filter((n) => n.endsWith('.test.ts'))) {
      const text = readFileSync(path.join(root, dir, name), 'utf8');
      for (const m of text.matchAll(/TWARGA_SSH_PORTS: '(\d+)-(\d+)'/g)) found.push({ file: `${dir}/${name}`, from: Number(m[1]), to: Number(m[2]) });
    }
  }
  return found;
}

test('test files that boot real VMs use SSH port ranges no other test file uses (they run at the same time)', () => {
  const all = ranges();
  assert.ok(all.length >= 8, `found ${all.length} ranges`);
  const clashes: string[] = [];
  for (const [i, a] of all.entries()) {
    for (const b of all.slice(i + 1)) {
      if (a.file !== b.file && a.from <= b.to && b.from <= a.to) clashes.push(`${a.file} ${a.from}-${a.to} overlaps ${b.file} ${b.from}-${b.to}`);
    }
  }
  assert.deepEqual(clashes, []);
});
