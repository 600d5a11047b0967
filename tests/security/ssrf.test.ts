import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import {
  DownloadRefused,
  guardedGet,
  guardedRequest,
  parseMirrorHosts,
  readTextCapped,
  refusalReason,
  type FetchPolicy,
  type ResolvedAddress,
} from '../../apps/server/src/lib/guarded-fetch.js';

/**
 * SSRF guard of admin image downloads. The only server here listens on 127.0.0.1; every URL
 * that must be refused is refused before a socket is opened, so no traffic leaves loopback.
 * `hits` counts requests to the "secret" path: a refused URL must leave it unchanged.
 */
describe('image downloads cannot reach the host or its private network (SSRF)', () => {
  let server: Server;
  let port: number;
  let hits = 0;
  const signal = new AbortController().signal;

  before(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url!, 'http://x');
      if (url.pathname === '/secret') {
        hits++;
        return res.end('metadata credentials');
      }
      if (url.pathname === '/file') return res.end('hello image');
      if (url.pathname === '/echo') {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => res.end(`${req.method} ${req.headers['x-test']} ${Buffer.concat(chunks).toString()}`));
        return;
      }
      if (url.pathname === '/redirect') return res.writeHead(302, { location: url.searchParams.get('to')! }).end();
      if (url.pathname === '/loop') return res.writeHead(301, { location: '/loop' }).end();
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  after(() => new Promise((r) => server.close(r)));

  /** A resolver for made-up names under .test (a TLD that never resolves for real). */
  const fakeDns =
    (table: Record<string, string[]>, calls: string[] = []) =>
    async (host: string): Promise<ResolvedAddress[]> => {
      calls.push(host);
      const answers = table[host];
      if (!answers) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
      return answers.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    };

  const refused = async (url: string, policy: FetchPolicy = { mirrorHosts: new Set() }) => {
    const before = hits;
    await assert.rejects(guardedGet(url, policy, signal), DownloadRefused, `${url} was not refused`);
    assert.equal(hits, before, `${url} reached the server`);
  };

  test('addresses are classified: only public unicast passes by default', () => {
    const blocked = [
      '127.0.0.1', '127.255.255.254', '10.0.0.1', '172.16.0.1', '172.31.255.255', '192.168.1.1', '100.64.0.1', '100.127.255.254',
      '169.254.169.254', '169.254.1.1', '0.0.0.0', '255.255.255.255', '224.0.0.1', '239.255.255.250', '240.0.0.1', '192.0.0.192',
      '100.100.100.200', '168.63.129.16', '::', '::1', 'fe80::1', 'fc00::1', 'fd12:3456::1', 'fd00:ec2::254', 'ff02::1',
      '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '::ffff:169.254.169.254', '::127.0.0.1', '64:ff9b::7f00:1',
      '2002:7f00:1::1', '2001:db8::1',
    ];
    for (const ip of blocked) assert.ok(refusalReason(ip, false), `${ip} should be refused`);
    for (const ip of ['93.184.216.34', '1.1.1.1', '8.8.8.8', '2606:4700:4700::1111', '::ffff:93.184.216.34']) {
      assert.equal(refusalReason(ip, false), null, `${ip} is public`);
    }
  });

  test('a mirror host may use private, loopback, CGNAT and ULA addresses, never link-local or metadata', () => {
    for (const ip of ['10.0.0.5', '192.168.1.20', '172.20.0.2', '127.0.0.1', '100.64.1.1', 'fd12::5', '::1', '::ffff:10.0.0.5']) {
      assert.equal(refusalReason(ip, true), null, `${ip} should be allowed for a mirror`);
    }
    for (const ip of ['169.254.169.254', '169.254.170.2', 'fe80::1', 'fd00:ec2::254', '100.100.100.200', '168.63.129.16', '0.0.0.0', '::', '224.0.0.1', '::ffff:169.254.169.254']) {
      assert.ok(refusalReason(ip, true), `${ip} must stay refused for a mirror`);
    }
  });

  test('every spelling of loopback in a URL is refused without a request', async () => {
    for (const host of ['127.0.0.1', '0x7f000001', '2130706433', '0177.0.0.1', '127.1', '0x7f.0.0.1', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '[::1]', '[::127.0.0.1]', '0.0.0.0', '0', '[::]', 'localhost', 'LOCALHOST.']) {
      await refused(`http://${host}:${port}/secret`);
    }
  });

  test('private, link-local, CGNAT, multicast, ULA and metadata URLs are refused', async () => {
    for (const url of [
      'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
      'http://[fd00:ec2::254]/latest/meta-data/',
      'http://100.100.100.200/latest/meta-data/',
      'http://168.63.129.16/machine',
      'http://10.0.0.1/', 'http://172.16.0.1/', 'http://192.168.0.1/', 'http://100.64.0.1/',
      'http://[fd12::1]/', 'http://[fe80::1]/', 'http://224.0.0.1/', 'http://[ff02::1]/', 'http://255.255.255.255/',
      'http://[64:ff9b::a9fe:a9fe]/', 'http://[2002:a9fe:a9fe::1]/',
    ]) {
      await refused(url);
    }
  });

  test('host names are judged by what they resolve to, and one bad address refuses the host', async () => {
    const resolve = fakeDns({
      'metadata.test': ['169.254.169.254'],
      'intranet.test': ['10.1.2.3'],
      'mixed.test': ['93.184.216.34', '127.0.0.1'],
      'mapped.test': ['::ffff:127.0.0.1'],
    });
    for (const host of ['metadata.test', 'intranet.test', 'mixed.test', 'mapped.test']) {
      await refused(`http://${host}:${port}/secret`, { mirrorHosts: new Set(), resolve });
    }
    // Listed as a mirror, a name may be private, but still never the metadata service.
    await refused(`http://metadata.test/`, { mirrorHosts: parseMirrorHosts('metadata.test'), resolve });
  });

  test('only http and https are fetched', async () => {
    for (const url of ['file:///etc/passwd', 'ftp://example.com/x.img', 'gopher://127.0.0.1:70/', 'data:text/plain,hi']) await refused(url);
  });

  test('a listed mirror is reached, and redirects between allowed URLs are followed', async () => {
    const policy: FetchPolicy = { mirrorHosts: parseMirrorHosts(' Localhost , other.example') };
    const direct = await guardedGet(`http://localhost:${port}/file`, policy, signal);
    assert.equal(direct.statusCode, 200);
    assert.equal(await readTextCapped(direct, 1024), 'hello image');
    const via = await guardedGet(`http://localhost:${port}/redirect?to=${encodeURIComponent(`http://localhost:${port}/file`)}`, policy, signal);
    assert.equal(await readTextCapped(via, 1024), 'hello image');
  });

  test('a redirect from an allowed URL to loopback, metadata or another scheme is refused', async () => {
    const policy: FetchPolicy = { mirrorHosts: parseMirrorHosts('localhost') };
    for (const target of [
      `http://127.0.0.1:${port}/secret`,
      `http://0x7f000001:${port}/secret`,
      `http://2130706433:${port}/secret`,
      `http://[::ffff:127.0.0.1]:${port}/secret`,
      `http://[::1]:${port}/secret`,
      'http://169.254.169.254/latest/meta-data/',
      'file:///etc/passwd',
    ]) {
      await refused(`http://localhost:${port}/redirect?to=${encodeURIComponent(target)}`, policy);
    }
  });

  test('redirect chains are cut after a few hops', async () => {
    await assert.rejects(guardedGet(`http://localhost:${port}/loop`, { mirrorHosts: parseMirrorHosts('localhost') }, signal), /more than 5 redirects/);
  });

  test('the socket connects to the address that was checked: a name is resolved once (no DNS rebinding)', async () => {
    // First answer: loopback (allowed: the name is a listed mirror). Any later answer points where
    // nothing listens; a client that looked the name up again to connect would fail.
    const calls: string[] = [];
    let n = 0;
    const resolve = async (host: string): Promise<ResolvedAddress[]> => {
      calls.push(host);
      return [{ address: n++ === 0 ? '127.0.0.1' : '127.0.0.2', family: 4 }];
    };
    const res = await guardedGet(`http://rebind.test:${port}/file`, { mirrorHosts: parseMirrorHosts('rebind.test'), resolve }, signal);
    assert.equal(await readTextCapped(res, 1024), 'hello image');
    assert.deepEqual(calls, ['rebind.test']);
  });

  test('webhook POSTs are judged the same way, never follow redirects, and name their own allow-list', async () => {
    const post = { method: 'POST' as const, body: '{"a":1}', headers: { 'x-test': 'yes', 'content-type': 'application/json' } };
    const webhooks: FetchPolicy = { mirrorHosts: parseMirrorHosts('127.0.0.1'), allowListName: 'TWARGA_WEBHOOK_ALLOW_HOSTS' };
    const echoed = await guardedRequest(`http://127.0.0.1:${port}/echo`, webhooks, signal, post);
    assert.equal(await readTextCapped(echoed, 1024), 'POST yes {"a":1}');
    // A redirect (to a loopback secret here) comes back as the 3xx itself: nothing follows it.
    const before = hits;
    const redirected = await guardedRequest(`http://127.0.0.1:${port}/redirect?to=${encodeURIComponent(`http://127.0.0.1:${port}/secret`)}`, webhooks, signal, post);
    assert.equal(redirected.statusCode, 302);
    redirected.destroy();
    assert.equal(hits, before);
    for (const url of [`http://localhost:${port}/secret`, 'http://169.254.169.254/latest/meta-data/', 'http://10.0.0.1/', 'gopher://127.0.0.1/']) {
      await assert.rejects(guardedRequest(url, webhooks, signal, post), DownloadRefused, url);
    }
    assert.equal(hits, before);
    const err = (await guardedRequest(`http://localhost:${port}/secret`, webhooks, signal, post).catch((e: Error) => e)) as Error;
    assert.match(err.message, /only a host listed in TWARGA_WEBHOOK_ALLOW_HOSTS may use one/);
  });

  test('refusal messages name the host and address, never anything the server answered', async () => {
    const err = await guardedGet(`http://0x7f000001:${port}/secret`, { mirrorHosts: new Set() }, signal).catch((e: Error) => e);
    assert.ok(err instanceof DownloadRefused);
    assert.match(err.message, /127\.0\.0\.1 is a loopback address/);
  });
});
