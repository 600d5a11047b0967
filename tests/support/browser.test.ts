import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { root } from './server.js';

/** Prints where a fresh process's browser tests would save their screenshots. */
function shotsDirWith(env: Record<string, string>): string {
  const script = `import('${path.join(root, 'tests/support/browser.ts')}').then((m) => process.stdout.write(m.screenshotsDir() + '\\n'))`;
  const out = execFileSync(process.execPath, ['--conditions=development', '--import', 'tsx', '-e', script], { cwd: root, env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 60_000 });
  return out.split('\n')[0]!;
}

test('browser tests keep their screenshots out of docs/ unless asked to refresh them', () => {
  const plain = shotsDirWith({});
  assert.equal(plain, path.join(root, 'test-results/screenshots'));
  assert.ok(existsSync(plain));
  // What `npm run screenshots` does.
  assert.equal(shotsDirWith({ TWARGA_SCREENSHOTS_DIR: 'docs/screenshots' }), path.join(root, 'docs/screenshots'));
});
