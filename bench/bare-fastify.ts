/**
 * The baseline for bench/auth-me.ts: plain Fastify, logger off, one route answering the same
 * JSON shape as GET /api/auth/me (a static object, serialised with the same User schema) and
 * nothing else: no auth, no database, no hooks. Started by the bench as its own process.
 *
 *   BENCH_PORT=4000 node --conditions=development --import tsx bench/bare-fastify.ts
 */
import Fastify from 'fastify';
import { User } from '@twarga/contract';

const port = Number(process.env.BENCH_PORT);
if (!Number.isInteger(port) || port <= 0) {
  process.stderr.write('bare-fastify: set BENCH_PORT\n');
  process.exit(2);
}

const user = {
  id: 2,
  username: 'bench',
  email: 'bench@bench.test',
  is_admin: false,
  is_active: true,
  credits: 1000,
  created_at: '2025-01-01T00:00:00.000Z',
};

const app = Fastify({ logger: false });
app.get('/bare', { schema: { response: { 200: User } } }, async () => user);

const shutdown = () => void app.close().then(() => process.exit(0));
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);

await app.listen({ host: '127.0.0.1', port });
