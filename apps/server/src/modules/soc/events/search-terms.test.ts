import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ftsMatchExpression, MAX_SEARCH_WORDS, searchWords } from './search-terms.js';

describe('SOC search words', () => {
  test('splits on white space, drops words with no letter or digit and control characters', () => {
    assert.deepEqual(searchWords('  Failed\tpassword \n root '), ['Failed', 'password', 'root']);
    assert.deepEqual(searchWords('" * : ( ) -- \'\''), []);
    assert.deepEqual(searchWords('a\u0000b'), ['a', 'b']);
    assert.deepEqual(searchWords(undefined), []);
    assert.equal(searchWords(Array.from({ length: 40 }, (_, i) => `w${i}`).join(' ')).length, MAX_SEARCH_WORDS);
  });

  test('FTS5: every word quoted (quotes doubled), all required, in the text columns only', () => {
    assert.equal(ftsMatchExpression(['root', 'say"hi', 'NEAR(x']), '{message action username source_ip details} : ("root" AND "say""hi" AND "NEAR(x")');
  });

  test("FTS5: a user's search is limited to their owner tokens", () => {
    assert.equal(ftsMatchExpression(['root'], { userId: 7, vmIds: [12, 13] }), 'owner : (u7 OR v12 OR v13) AND {message action username source_ip details} : ("root")');
    assert.equal(ftsMatchExpression(['root'], { userId: 7, vmIds: [] }), 'owner : (u7) AND {message action username source_ip details} : ("root")');
  });
});
