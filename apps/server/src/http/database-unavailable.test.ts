import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import pg from 'pg';
import { isDatabaseUnavailable } from '../db/database.js';
import { registerErrorHandling } from './errors.js';

/** A loopback port with nothing listening on it (a stopped PostgreSQL). */
async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** An error as pg raises it for a SQLSTATE from the server. */
const sqlState = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('a database that cannot be reached answers 503 service_unavailable, not 500', () => {
  let app: FastifyInstance;
  let thrown: unknown;
  before(async () => {
    app = Fastify({ logger: false });
    registerErrorHandling(app);
    app.get('/fails', async () => {
      throw thrown;
    });
    await app.ready();
  });
  after(() => app.close());

  const answer = async (err: unknown) => {
    thrown = err;
    const res = await app.inject({ method: 'GET', url: '/fails' });
    return { status: res.statusCode, body: res.json(), retryAfter: res.headers['retry-after'] };
  };

  test('a real refused connection (pg pool to a closed loopback port) is a 503 with the error body and Retry-After', async () => {
    const pool = new pg.Pool({ connectionString: `postgres://postgres@127.0.0.1:${await closedPort()}/postgres`, connectionTimeoutMillis: 2000 });
    const refused = await pool.query('SELECT 1').catch((err: unknown) => err);
    await pool.end();
    assert.ok(isDatabaseUnavailable(refused), String(refused));
    const res = await answer(refused);
    assert.equal(res.status, 503);
    assert.deepEqual(Object.keys(res.body).sort(), ['code', 'message', 'request_id']);
    assert.equal(res.body.code, 'service_unavailable');
    assert.match(res.body.message, /database is unavailable.*try again/i);
    assert.equal(res.retryAfter, '5');
  });

  test('a connection cut by a shutdown, a restart, a connect timeout or a full server is a 503', async () => {
    for (const err of [
      new Error('Connection terminated unexpectedly'),
      new Error('Connection terminated due to connection timeout', { cause: new Error('timeout') }),
      new Error('timeout exceeded when trying to connect'),
      new Error('Client has encountered a connection error and is not queryable'),
      sqlState('57P01', 'terminating connection due to administrator command'),
      sqlState('57P03', 'the database system is starting up'),
      sqlState('08006', 'connection failure'),
      sqlState('53300', 'sorry, too many clients already'),
      new Error('query failed', { cause: sqlState('ECONNRESET', 'read ECONNRESET') }),
    ]) {
      const res = await answer(err);
      assert.equal(res.status, 503, err.message);
      assert.equal(res.body.code, 'service_unavailable', err.message);
    }
  });

  test('a bad query, a constraint violation or any other fault stays a 500 that shows no internals', async () => {
    for (const err of [sqlState('42601', 'syntax error at or near "SELEC"'), sqlState('23505', 'duplicate key value'), new Error('driver has already been destroyed'), new TypeError('x is undefined')]) {
      assert.equal(isDatabaseUnavailable(err), false, err.message);
      const res = await answer(err);
      assert.equal(res.status, 500, err.message);
      assert.deepEqual(res.body.code, 'internal_error');
      assert.doesNotMatch(JSON.stringify(res.body), /syntax|duplicate|destroyed|undefined/);
    }
  });
});
