import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError, errorMessage } from '../../api';
import { createErrorTitle } from './createForm';

test('a launch refused for lack of host storage (507) reads as such, not as a server crash', () => {
  const message = 'The host has no room for a 40 GB disk right now: choose a smaller disk, or ask an administrator to free space';
  const err = new ApiError(507, { code: 'insufficient_storage', message, request_id: 'r1' });
  assert.equal(createErrorTitle(err), 'Not enough storage on the host');
  assert.equal(errorMessage(err), message);
  // Other 5xx keep the generic wording.
  assert.match(errorMessage(new ApiError(500, { code: 'internal_error', message: 'Internal server error', request_id: 'r2' })), /The server had a problem/);
});
