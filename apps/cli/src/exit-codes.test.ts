import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, test } from 'node:test';
import { ApiClient, ApiError } from '@twarga/contract';
import { CliError, EXIT, exitCodeFor, formatError, isUnreachable } from './exit-codes.js';

const apiError = (status: number, code: string, message = 'm', request_id = 'req-1') => new ApiError(status, { code, message, request_id });

/** A loopback port nothing listens on (bound, then closed). */
async function deadPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe('exit codes', () => {
  test('server errors map to the documented codes', () => {
    assert.equal(exitCodeFor(apiError(404, 'not_found')), EXIT.notFound);
    assert.equal(exitCodeFor(apiError(401, 'unauthorized')), EXIT.auth);
    assert.equal(exitCodeFor(apiError(403, 'forbidden')), EXIT.auth);
    assert.equal(exitCodeFor(apiError(409, 'conflict')), EXIT.conflict);
    assert.equal(exitCodeFor(apiError(402, 'insufficient_credits')), EXIT.conflict);
    // A quota refusal is a 403, but it is "you have too many", not "you may not".
    assert.equal(exitCodeFor(apiError(403, 'quota_exceeded')), EXIT.conflict);
    assert.equal(exitCodeFor(apiError(400, 'validation_failed')), EXIT.usage);
    assert.equal(exitCodeFor(apiError(500, 'internal_error')), EXIT.error);
    assert.equal(exitCodeFor(apiError(503, 'service_unavailable')), EXIT.error);
  });

  test('the CLI\'s own errors carry their code; anything else is 1', () => {
    assert.equal(exitCodeFor(new CliError('x', EXIT.actionErrored)), 6);
    assert.equal(exitCodeFor(new Error('boom')), EXIT.error);
    assert.equal(exitCodeFor('weird'), EXIT.error);
  });

  test('a server that does not answer is 7 (a real refused connection through the ApiClient)', async () => {
    const port = await deadPort();
    const err = await new ApiClient({ baseUrl: `http://127.0.0.1:${port}`, token: 't' }).auth.me().catch((e: unknown) => e);
    assert.ok(isUnreachable(err));
    assert.equal(exitCodeFor(err), EXIT.unreachable);
    assert.match(formatError(err), /^error: server unreachable: .*ECONNREFUSED.* \(unreachable\)$/);
  });

  test('the error line carries the server\'s message, code and request id', () => {
    assert.equal(formatError(apiError(404, 'not_found', 'VM not found', 'abc123')), 'error: VM not found (not_found, request abc123)');
    assert.equal(formatError(apiError(500, 'internal_error', 'oops', '')), 'error: oops (internal_error)');
    assert.equal(formatError(new CliError('no VM named "x"', EXIT.notFound, 'not_found')), 'error: no VM named "x" (not_found)');
    assert.equal(formatError(new CliError('plain')), 'error: plain');
  });
});
