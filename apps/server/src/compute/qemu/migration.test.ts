import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertStateFile, loadUri, saveUri } from './migration.js';

test('a state file must be a plain path inside its directory: nothing reaches the exec: shell but a path', () => {
  assert.equal(assertStateFile('/data/warm/k1/state', '/data/warm'), '/data/warm/k1/state');
  assert.equal(saveUri('/data/warm/k1/state'), 'exec:cat > /data/warm/k1/state');
  assert.equal(loadUri('/data/warm/k1/state'), 'exec:cat /data/warm/k1/state');
  for (const bad of ['/data/warm/a;rm -rf x', '/data/warm/$(id)', '/data/warm/a b', '/data/warm/`id`', '/data/warm/a|b', "/data/warm/a'b", '/data/warm/x\nid']) {
    assert.throws(() => assertStateFile(bad, '/data/warm'), /unsafe state file path/, bad);
  }
  assert.throws(() => assertStateFile('/data/warm/../vms/x', '/data/warm'), /outside/);
  assert.throws(() => assertStateFile('/data/warmer/x', '/data/warm'), /outside/);
  assert.throws(() => assertStateFile('/data/warm', '/data/warm'), /outside/);
});
