import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TERMINAL_CLOSE_CODES } from '@twarga/contract/browser';
import { describeClose, END_REASON_LABELS, endSentence } from './describeEnd';

test('a session ended because access was revoked says so, with the server’s reason and what to do', () => {
  const sentence = endSentence({ kind: 'exit', reason: 'access_revoked', exitCode: null, message: 'your administrator rights were removed' });
  assert.equal(sentence, "Session ended, access revoked: Your administrator rights were removed. Sign in again or ask the VM's owner.");
  assert.equal(END_REASON_LABELS.access_revoked, 'Access revoked');
});

test('the access-revoked close code without a message still reads as revoked access, not as a broken line', () => {
  assert.match(describeClose(TERMINAL_CLOSE_CODES.accessRevoked, true).message, /access ended/);
  assert.equal(describeClose(TERMINAL_CLOSE_CODES.accessRevoked, false).kind, 'refused');
});
