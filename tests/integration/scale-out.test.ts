import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApiClient } from '@twarga/contract';
import { openEventStream } from '../../apps/server/src/test-support/event-stream.js';
import { quickEd25519 } from '../../apps/server/src/test-support/ssh-keys.js';
import { createThrowawayDatabase } from '../support/pg-database.js';
import { freePort, startServer } from '../support/server.js';
import { until } from '../support/until.js';

/**
 * What the README's "More hosts / scale out" section tells an operator to do, done for real: one
 * PostgreSQL, two server processes with their own data dirs (as on two machines), HAProxy from
 * Debian in front. A process that joins with other secrets, or from another place while this
 * machine's QEMU host is enabled, is refused with the way to join; then it serves the same users; a browser's live stream on one process
 * sees what happens through the other; when one process is killed, the proxy's users lose nothing.
 */
const pgUrl = process.env.TWARGA_TEST_PG_URL;
const haproxy = ['/usr/sbin/haproxy', '/usr/bin/haproxy'].find((p) => existsSync(p));
const skip = !pgUrl ? 'needs TWARGA_TEST_PG_URL' : !haproxy ? 'needs HAProxy (apt-get install haproxy; scripts/setup.sh --test installs it)' : false;
if (skip && process.env.CI) throw new Error(`CI must run the scale-out test: ${skip}`);

type Server = Awaited<ReturnType<typeof startServer>>;
const PASSWORD = 'correct horse battery';

describe('scale out: two server processes on one PostgreSQL behind HAProxy', { skip }, () => {
  let database: Awaited<ReturnType<typeof createThrowawayDatabase>>;
  const dirs: string[] = [];
  const servers: Server[] = [];
  let proxy: ChildProcess;
  let front: string;
  let dbUrl: string;
  let token: string;
  const dataDir = () => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'twarga-scale-'));
    dirs.push(d);
    return d;
  };
  const env = (dir: string) => ({ TWARGA_DATA_DIR: dir, TWARGA_DATABASE_URL: dbUrl, TWARGA_ADMIN_PASSWORD: 'scale-admin-pw', TWARGA_IMAGE_BUILD: 'off' });
  /** Which process answered (HAProxy names it in X-Served-By). */
  const served = async (url: string, init: RequestInit = {}) => {
    const res = await fetch(`${front}${url}`, { ...init, headers: { authorization: `Bearer ${token}`, ...init.headers } });
    return { status: res.status, by: res.headers.get('x-served-by'), body: await res.text() };
  };

  before(async () => {
    database = await createThrowawayDatabase('twarga_scale');
    dbUrl = database.url;
  });

  after(async () => {
    proxy?.kill('SIGKILL');
    for (const s of servers) await s.stop().catch(() => {});
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    await database?.drop().catch(() => {});
  });

  test('a process elsewhere is refused until it has the first one\'s secrets.json and this machine\'s QEMU host is disabled, then it joins', async () => {
    const first = dataDir();
    servers.push(await startServer(env(first)));
    // Another data dir stands for another machine.
    const second = dataDir();
    await assert.rejects(startServer(env(second)), (err: Error) => {
      assert.match(err.message, /secrets\.json is not the one the other server processes on this database use/);
      assert.match(err.message, /Copy secrets\.json from a running process's data directory/);
      return true;
    });
    rmSync(path.join(second, 'secrets.json'));
    copyFileSync(path.join(first, 'secrets.json'), path.join(second, 'secrets.json'));
    await assert.rejects(startServer(env(second)), (err: Error) => {
      assert.match(err.message, /compute host local \(qemu\) keeps its VMs on .* in .*twarga-scale-.*: it could not reach them/);
      assert.match(err.message, /disable those hosts/);
      return true;
    });
    // Served from several places, VMs go to remote libvirt hosts: the first machine's QEMU host is disabled.
    const anon = new ApiClient({ baseUrl: servers[0]!.base });
    const admin = new ApiClient({ baseUrl: servers[0]!.base, token: (await anon.auth.login('admin', 'scale-admin-pw')).access_token });
    const local = (await admin.admin.hosts.list()).find((h) => h.name === 'local')!;
    await admin.admin.hosts.update(local.id, { enabled: false });
    servers.push(await startServer(env(second)));
  });

  test('HAProxy spreads requests over both; a login made through one works on the other', async () => {
    const port = await freePort();
    front = `http://127.0.0.1:${port}`;
    const cfg = path.join(dataDir(), 'haproxy.cfg');
    const backends = servers.map((s, i) => `  server p${i + 1} ${new URL(s.base).host} check`).join('\n');
    writeFileSync(cfg, haproxyConfig(port, backends));
    proxy = spawn(haproxy!, ['-db', '-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    let proxyOutput = '';
    proxy.stderr!.on('data', (d) => (proxyOutput += d));
    // Ready when its checks have both processes up (each has answered a /health through it): on
    // a loaded machine a first check can time out and keep one out for a moment.
    const seen = new Set<string | null>();
    await until(() => `HAProxy in front of both (${proxyOutput})`, async () => {
      const res = await fetch(`${front}/health`).catch(() => undefined);
      if (res?.ok) seen.add(res.headers.get('x-served-by'));
      return seen.has('p1') && seen.has('p2') ? true : undefined;
    }, 20_000);

    const anon = new ApiClient({ baseUrl: front });
    await anon.auth.register({ username: 'scaler', email: 'scaler@example.com', password: PASSWORD });
    token = (await anon.auth.login('scaler', PASSWORD)).access_token;
    const answers = await Promise.all(Array.from({ length: 8 }, () => served('/api/auth/me')));
    assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([200]), JSON.stringify(answers));
    assert.deepEqual(new Set(answers.map((a) => a.by)), new Set(['p1', 'p2']), 'both processes answered');
    for (const a of answers) assert.equal(JSON.parse(a.body).username, 'scaler');
  });

  test('the live stream opened on one process receives what is done through the other', async () => {
    const stream = await openEventStream(servers[0]!.base, token);
    try {
      const name = `laptop-${randomBytes(3).toString('hex')}`;
      const key = quickEd25519();
      const res = await fetch(`${servers[1]!.base}/api/account/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name, public_key: key }),
      });
      assert.equal(res.status, 201, await res.text());
      await until(`the key's event on the other process's stream`, async () => (stream.received.some((e) => e.kind === 'event' && e.event.message.includes(name)) ? true : undefined), 5_000);
    } finally {
      stream.close();
    }
  });

  test('one process killed with SIGKILL: requests through the proxy go on answering', async () => {
    const victim = servers[0]!;
    await victim.kill();
    const answers: { status: number; by: string | null }[] = [];
    for (let i = 0; i < 20; i++) {
      answers.push(await served('/api/vms'));
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(answers.filter((a) => a.status !== 200), [], 'every request answered 200');
    assert.ok(answers.every((a) => a.by === 'p2'), 'the survivor answered them all');
    servers.shift();
  });
});

/** Round robin, health checks on /health, and a request whose server is gone is sent to the other. */
function haproxyConfig(port: number, backends: string): string {
  return `global
  maxconn 256

defaults
  mode http
  timeout connect 2s
  timeout check 2s
  timeout client 1h
  timeout server 1h
  timeout tunnel 1h
  option redispatch
  retries 3
  retry-on conn-failure empty-response response-timeout

frontend twarga
  bind 127.0.0.1:${port}
  default_backend servers

backend servers
  balance roundrobin
  option httpchk GET /health
  http-check expect status 200
  default-server inter 500ms fall 2 rise 1
  http-response set-header X-Served-By %s
${backends}
`;
}

