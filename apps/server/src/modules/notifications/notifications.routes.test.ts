import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../config/config.js';
import type { ResolvedAddress } from '../../lib/guarded-fetch.js';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { createHarness, type Harness } from '../../test-support/harness.js';
import { bodyOf, closedPort, hmacHex, Receiver, SmtpSink } from '../../test-support/notification-sinks.js';
import type { Identity } from '../auth/identity.js';
import { createNotifications, parseRetrySeconds } from './wiring.js';

for (const kind of testDatabaseKinds()) {
  describe(`notification channels and deliveries (${kind})`, () => {
    let h: Harness;
    const receiver = new Receiver();
    const smtp = new SmtpSink();
    let n = 0;
    /** A fresh user per test: the per-user quota and the test rate limit do not leak between tests. */
    const newUser = () => h.user(`notif${++n}${kind.slice(0, 2)}`);

    before(async () => {
      await receiver.start();
      await smtp.start();
      h = await createHarness(kind, {
        smtpUrl: `smtp://mailer:s3cret@127.0.0.1:${smtp.port}`,
        smtpFrom: 'Twarga Alerts <alerts@twarga.test>',
        // Only this literal address may be private; "localhost" is not listed.
        webhookAllowHosts: '127.0.0.1',
        notificationRetrySeconds: '0.05,0.1',
        notificationTimeoutSeconds: 2,
        maxChannelsPerUser: 4,
      });
    });
    after(async () => {
      await h.close();
      await receiver.stop();
      await smtp.stop();
    });

    const call = (token: string, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown) => h.request({ method, url, token, body });
    const create = (token: string, body: Record<string, unknown>) => call(token, 'POST', '/api/notifications/channels', body);
    const deliveriesOf = async (token: string, channelId: number) => (await call(token, 'GET', `/api/notifications/deliveries?channel_id=${channelId}`)).json() as { id: number; status: string; attempts: number; response_code: number | null; error: string | null; finished_at: string | null; topic: string }[];

    test('an e-mail channel: created, listed, changed, deleted; the address is validated', async () => {
      const u = await newUser();
      const res = await create(u.token, { kind: 'email', name: 'Me', email: 'ops@example.com' });
      assert.equal(res.statusCode, 201, res.body);
      const ch = res.json();
      assert.equal(ch.kind, 'email');
      assert.equal(ch.email, 'ops@example.com');
      assert.equal(ch.url, null);
      assert.equal(ch.secret, null);
      assert.equal(ch.enabled, true);
      assert.deepEqual((await call(u.token, 'GET', '/api/notifications/channels')).json().map((c: { id: number }) => c.id), [ch.id]);
      const patched = await call(u.token, 'PATCH', `/api/notifications/channels/${ch.id}`, { name: 'Pager', enabled: false, email: 'pager@example.org' });
      assert.equal(patched.statusCode, 200, patched.body);
      assert.deepEqual([patched.json().name, patched.json().enabled, patched.json().email], ['Pager', false, 'pager@example.org']);
      for (const email of ['not-an-address', 'a@b', 'two@example.com\r\nBcc: x@evil.example', 'a b@example.com', '@example.com']) {
        const bad = await create(u.token, { kind: 'email', name: 'x', email });
        assert.equal(bad.statusCode, 400, `${JSON.stringify(email)}: ${bad.body}`);
        assert.equal(bad.json().details[0].field, 'email');
      }
      assert.equal((await create(u.token, { kind: 'email', name: 'x' })).statusCode, 400, 'an e-mail channel needs an address');
      assert.equal((await create(u.token, { kind: 'email', name: 'x', email: 'a@example.com', url: 'http://127.0.0.1/' })).statusCode, 400);
      assert.equal((await create(u.token, { kind: 'sms', name: 'x' })).statusCode, 400);
      assert.equal((await call(u.token, 'PATCH', `/api/notifications/channels/${ch.id}`, { format: 'slack' })).statusCode, 400);
      assert.equal((await call(u.token, 'POST', `/api/notifications/channels/${ch.id}/rotate-secret`)).statusCode, 400, 'an e-mail channel has no secret');
      assert.equal((await call(u.token, 'DELETE', `/api/notifications/channels/${ch.id}`)).statusCode, 204);
      assert.equal((await call(u.token, 'GET', `/api/notifications/channels/${ch.id}`)).statusCode, 404);
      const actions = (await h.services.events.list({ userId: u.id })).map((e: { action: string }) => e.action);
      assert.ok(actions.includes('notification_channel.created') && actions.includes('notification_channel.deleted'), actions.join());
    });

    test('a user may have at most maxChannelsPerUser channels (quota_exceeded)', async () => {
      const u = await newUser();
      for (let i = 0; i < 4; i++) assert.equal((await create(u.token, { kind: 'email', name: `c${i}`, email: `c${i}@example.com` })).statusCode, 201);
      const over = await create(u.token, { kind: 'email', name: 'c5', email: 'c5@example.com' });
      assert.equal(over.statusCode, 403);
      assert.equal(over.json().code, 'quota_exceeded');
    });

    test("another user's channels are 404 for every route, and their deliveries are not listed", async () => {
      const owner = await newUser();
      const other = await newUser();
      const ch = (await create(owner.token, { kind: 'webhook', name: 'owner-hook', url: receiver.url('/ok') })).json();
      await call(owner.token, 'POST', `/api/notifications/channels/${ch.id}/test`);
      const before = receiver.got.length;
      for (const [method, url, body] of [
        ['GET', `/api/notifications/channels/${ch.id}`],
        ['PATCH', `/api/notifications/channels/${ch.id}`, { name: 'mine now' }],
        ['DELETE', `/api/notifications/channels/${ch.id}`],
        ['POST', `/api/notifications/channels/${ch.id}/test`],
        ['POST', `/api/notifications/channels/${ch.id}/rotate-secret`],
        ['GET', `/api/notifications/deliveries?channel_id=${ch.id}`],
      ] as const) {
        const res = await call(other.token, method, url, body);
        assert.equal(res.statusCode, 404, `${method} ${url}: ${res.body}`);
        assert.ok(!res.body.includes('owner-hook'));
      }
      assert.equal(receiver.got.length, before, "nothing was sent to the owner's webhook");
      assert.deepEqual((await call(other.token, 'GET', '/api/notifications/channels')).json(), []);
      assert.deepEqual((await call(other.token, 'GET', '/api/notifications/deliveries')).json(), []);
      assert.equal((await call(owner.token, 'GET', `/api/notifications/channels/${ch.id}`)).json().name, 'owner-hook');
    });

    test('webhook URLs: http(s) only; loopback, private, link-local and metadata targets are refused with a 400 unless allow-listed', async () => {
      const u = await newUser();
      const cases: [string, RegExp][] = [
        ['http://169.254.169.254/latest/meta-data/', /metadata/],
        ['http://10.1.2.3/hook', /private.*TWARGA_WEBHOOK_ALLOW_HOSTS/],
        ['http://192.168.1.10/hook', /private/],
        [`http://localhost:${receiver.port}/ok`, /loopback.*TWARGA_WEBHOOK_ALLOW_HOSTS/],
        [`http://[::1]:${receiver.port}/ok`, /loopback/],
        [`http://0x7f000002:${receiver.port}/ok`, /loopback/],
        ['http://[fe80::1]/hook', /link local/],
        ['ftp://example.com/hook', /http or https/],
        ['file:///etc/passwd', /http or https/],
        ['not a url', /not a valid URL/],
      ];
      const before = receiver.got.length;
      for (const [url, why] of cases) {
        const res = await create(u.token, { kind: 'webhook', name: 'x', url });
        assert.equal(res.statusCode, 400, `${url}: ${res.body}`);
        assert.match(res.json().message, why, url);
        assert.equal(res.json().details[0].field, 'url');
      }
      assert.equal(receiver.got.length, before, 'checking a URL never connects to it');
      assert.deepEqual((await call(u.token, 'GET', '/api/notifications/channels')).json(), []);
      // The allow-listed loopback address is accepted; changing it to a refused one is a 400 too.
      const ok = await create(u.token, { kind: 'webhook', name: 'local', url: receiver.url('/ok') });
      assert.equal(ok.statusCode, 201, ok.body);
      const moved = await call(u.token, 'PATCH', `/api/notifications/channels/${ok.json().id}`, { url: 'http://169.254.169.254/' });
      assert.equal(moved.statusCode, 400);
      assert.equal((await call(u.token, 'GET', `/api/notifications/channels/${ok.json().id}`)).json().url, receiver.url('/ok'));
    });

    test('a webhook is signed with the secret from the create answer; the secret is shown once and can be rotated', async () => {
      const u = await newUser();
      const created = await create(u.token, { kind: 'webhook', name: 'signed', url: receiver.url('/ok') });
      assert.equal(created.statusCode, 201, created.body);
      const { id, secret, format } = created.json();
      assert.equal(format, 'json');
      assert.match(secret, /^twh_[A-Za-z0-9_-]{43}$/);
      assert.ok(!(await call(u.token, 'GET', `/api/notifications/channels/${id}`)).body.includes(secret), 'GET does not show the secret');
      assert.ok(!(await call(u.token, 'GET', '/api/notifications/channels')).body.includes(secret));

      const res = await call(u.token, 'POST', `/api/notifications/channels/${id}/test`);
      assert.equal(res.statusCode, 200, res.body);
      const delivery = res.json();
      assert.deepEqual([delivery.status, delivery.attempts, delivery.response_code, delivery.topic], ['delivered', 1, 200, 'test']);
      const got = receiver.got.find((g) => g.headers['x-twarga-delivery'] === String(delivery.id))!;
      assert.ok(got, 'the receiver got the test');
      assert.equal(got.headers['content-type'], 'application/json');
      assert.equal(got.headers['x-twarga-signature'], hmacHex(secret, got.raw), 'HMAC-SHA256 of the raw body with the channel secret');
      assert.notEqual(got.headers['x-twarga-signature'], hmacHex(`${secret}x`, got.raw));
      const body = JSON.parse(got.raw.toString());
      assert.equal(body.id, delivery.id);
      assert.equal(body.topic, 'test');
      assert.equal(body.timestamp, got.headers['x-twarga-timestamp']);
      assert.ok(Math.abs(Date.parse(body.timestamp) - Date.now()) < 60_000);

      const rotated = await call(u.token, 'POST', `/api/notifications/channels/${id}/rotate-secret`);
      assert.equal(rotated.statusCode, 200, rotated.body);
      const fresh = rotated.json().secret;
      assert.notEqual(fresh, secret);
      const again = (await call(u.token, 'POST', `/api/notifications/channels/${id}/test`)).json();
      const got2 = receiver.got.find((g) => g.headers['x-twarga-delivery'] === String(again.id))!;
      assert.equal(got2.headers['x-twarga-signature'], hmacHex(fresh, got2.raw));
      assert.notEqual(got2.headers['x-twarga-signature'], hmacHex(secret, got2.raw), 'the old secret no longer signs');
    });

    test('format slack posts a payload Slack accepts: text and blocks', async () => {
      const u = await newUser();
      const ch = (await create(u.token, { kind: 'webhook', name: 'slack', url: receiver.url('/ok'), format: 'slack' })).json();
      await h.services.notifications.notify({ userId: u.id, topic: 'alert.opened', subject: 'CPU ≥ 90% on web-1', text: 'cpu_percent 97 > 90 for 5m <script>', data: { vm_id: 7 }, alertId: 42 });
      await h.services.notifications.idle();
      const [d] = await deliveriesOf(u.token, ch.id);
      assert.equal(d!.status, 'delivered');
      const got = receiver.got.find((g) => g.headers['x-twarga-delivery'] === String(d!.id))!;
      const body = JSON.parse(got.raw.toString());
      assert.deepEqual(Object.keys(body).sort(), ['blocks', 'text']);
      assert.match(body.text, /CPU ≥ 90% on web-1/);
      assert.match(body.text, /&lt;script&gt;/, 'Slack mrkdwn is escaped');
      assert.equal(body.blocks[0].type, 'header');
      assert.equal(body.blocks[0].text.type, 'plain_text');
      assert.equal(body.blocks[1].type, 'section');
      assert.equal(body.blocks[1].text.type, 'mrkdwn');
      assert.equal(got.headers['x-twarga-signature'], hmacHex(ch.secret, got.raw), 'slack bodies are signed too');
    });

    test('an e-mail reaches the SMTP server of TWARGA_SMTP_URL with the subject and text', async () => {
      const u = await newUser();
      const ch = (await create(u.token, { kind: 'email', name: 'mail', email: 'oncall@example.com' })).json();
      await h.services.notifications.notify({ userId: u.id, topic: 'alert.opened', subject: 'Memory above 85% on db-1', text: 'memory_used 91% for 10m on db-1.', data: {}, alertId: 9 });
      await h.services.notifications.idle();
      const [d] = await deliveriesOf(u.token, ch.id);
      assert.deepEqual([d!.status, d!.attempts, d!.response_code, d!.error], ['delivered', 1, 250, null]);
      const mail = smtp.mails.find((m) => m.raw.includes('Memory above 85% on db-1'))!;
      assert.ok(mail, 'the sink received the mail');
      assert.deepEqual(mail.to, ['oncall@example.com']);
      assert.equal(mail.from, 'alerts@twarga.test');
      assert.match(mail.raw, /^Subject: Memory above 85% on db-1\r$/m);
      assert.match(bodyOf(mail.raw), /memory_used 91% for 10m on db-1\./);
      // "send test" works for e-mail as well, and says what the server answered.
      const t = (await call(u.token, 'POST', `/api/notifications/channels/${ch.id}/test`)).json();
      assert.deepEqual([t.status, t.response_code], ['delivered', 250]);
      assert.ok(smtp.mails.some((m) => m.raw.includes('Subject: Test notification from Twarga Cloud')));
    });

    test('a receiver answering 500 twice then 200: delivered on the 3rd attempt, each attempt recorded', async () => {
      const u = await newUser();
      const ch = (await create(u.token, { kind: 'webhook', name: 'flaky', url: receiver.url(`/flaky/${u.id}`) })).json();
      const first = (await call(u.token, 'POST', `/api/notifications/channels/${ch.id}/test`)).json();
      // The answer comes after the first attempt; the retries go on in the background.
      assert.deepEqual([first.status, first.attempts, first.response_code, first.finished_at], ['pending', 1, 500, null]);
      assert.match(first.error, /HTTP 500/);
      await h.services.notifications.idle();
      const [d] = await deliveriesOf(u.token, ch.id);
      assert.deepEqual([d!.status, d!.attempts, d!.response_code, d!.error], ['delivered', 3, 200, null]);
      assert.ok(d!.finished_at);
      assert.equal(receiver.hits(`/flaky/${u.id}`).length, 3);
    });

    test('an unreachable receiver ends failed after every attempt, with the error recorded and an event; a 4xx is not retried', async () => {
      const u = await newUser();
      const port = await closedPort();
      const ch = (await create(u.token, { kind: 'webhook', name: 'gone', url: `http://127.0.0.1:${port}/hook` })).json();
      await h.services.notifications.notify({ userId: u.id, topic: 'alert.opened', subject: 's', text: 't', data: {} });
      await h.services.notifications.idle();
      const [d] = await deliveriesOf(u.token, ch.id);
      assert.equal(d!.status, 'failed');
      assert.equal(d!.attempts, 3);
      assert.match(d!.error!, /ECONNREFUSED/);
      assert.ok(d!.finished_at);
      const failed = (await h.services.events.list({ userId: u.id })).filter((e: { action: string }) => e.action === 'notification.failed');
      assert.equal(failed.length, 1);
      assert.match(failed[0]!.message, /"gone" failed after 3 attempts/);

      const bad = (await create(u.token, { kind: 'webhook', name: 'refuses', url: receiver.url('/bad') })).json();
      const t = (await call(u.token, 'POST', `/api/notifications/channels/${bad.id}/test`)).json();
      assert.deepEqual([t.status, t.attempts, t.response_code], ['failed', 1, 400], 'the receiver said no: no retry');
    });

    test('notify() returns before the delivery is done; the delivery finishes in the background', async () => {
      const u = await newUser();
      const ch = (await create(u.token, { kind: 'webhook', name: 'slow', url: receiver.url('/hold') })).json();
      const before = receiver.hits('/hold').length;
      await h.services.notifications.notify({ userId: u.id, topic: 'alert.opened', subject: 'slow', text: 't', data: {} });
      const [pending] = await deliveriesOf(u.token, ch.id);
      assert.deepEqual([pending!.status, pending!.attempts], ['pending', 0], 'notify() did not wait for the receiver');
      // The receiver gets the request and holds it: the delivery stays pending until it answers.
      for (let i = 0; i < 100 && receiver.hits('/hold').length === before; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(receiver.hits('/hold').length, before + 1);
      assert.equal((await deliveriesOf(u.token, ch.id))[0]!.status, 'pending');
      receiver.release();
      await h.services.notifications.idle();
      assert.equal((await deliveriesOf(u.token, ch.id))[0]!.status, 'delivered');
    });

    test("notify goes to the user's enabled channels (or the listed ones), and 'admins' to every active admin's", async () => {
      const u = await newUser();
      const a = (await create(u.token, { kind: 'webhook', name: 'a', url: receiver.url('/ok') })).json();
      const b = (await create(u.token, { kind: 'webhook', name: 'b', url: receiver.url('/ok') })).json();
      const off = (await create(u.token, { kind: 'webhook', name: 'off', url: receiver.url('/ok'), enabled: false })).json();
      const admin = await h.adminToken();
      const adminCh = (await create(admin, { kind: 'webhook', name: 'admin', url: receiver.url('/ok') })).json();
      await h.services.notifications.notify({ userId: u.id, topic: 'alert.opened', subject: 'all', text: 't', data: {} });
      await h.services.notifications.notify({ userId: u.id, channelIds: [b.id, adminCh.id], topic: 'alert.resolved', subject: 'only b', text: 't', data: {} });
      await h.services.notifications.notify({ userId: 'admins', topic: 'alert.opened', subject: 'host', text: 't', data: {} });
      await h.services.notifications.idle();
      const topics = async (token: string, id: number) => (await deliveriesOf(token, id)).map((d) => d.topic).sort();
      assert.deepEqual(await topics(u.token, a.id), ['alert.opened']);
      assert.deepEqual(await topics(u.token, b.id), ['alert.opened', 'alert.resolved']);
      assert.deepEqual(await topics(u.token, off.id), [], 'a disabled channel gets nothing');
      assert.deepEqual(await topics(admin, adminCh.id), ['alert.opened'], "another user's channel id in channelIds is ignored");
    });

    test('"send test" is rate-limited per user', async () => {
      const u = await newUser();
      const ch = (await create(u.token, { kind: 'email', name: 'm', email: 'rl@example.com' })).json();
      const codes: number[] = [];
      for (let i = 0; i < 6; i++) codes.push((await call(u.token, 'POST', `/api/notifications/channels/${ch.id}/test`)).statusCode);
      assert.deepEqual(codes, [200, 200, 200, 200, 200, 429]);
      const other = await newUser();
      const och = (await create(other.token, { kind: 'email', name: 'm', email: 'rl2@example.com' })).json();
      assert.equal((await call(other.token, 'POST', `/api/notifications/channels/${och.id}/test`)).statusCode, 200, 'another user is not limited');
    });

    test('the webhook target is checked again at every send: a name re-pointed at loopback is refused', async () => {
      // A service on the same database whose DNS answers a public address first (at creation),
      // then 127.0.0.1. Nothing is allow-listed here. A sender that trusted the check made at
      // creation would connect to the receiver on 127.0.0.1.
      let lookups = 0;
      const resolve = async (): Promise<ResolvedAddress[]> => [{ address: lookups++ === 0 ? '93.184.216.34' : '127.0.0.1', family: 4 }];
      const svc = createNotifications({
        db: h.db.handle.db,
        config: { ...h.config, webhookAllowHosts: '' },
        sealKey: 'k'.repeat(43),
        events: h.services.events,
        clock: h.clock,
        log: h.app.log,
        resolve,
      });
      const u = await newUser();
      const identity = { user: { id: u.id, username: 'x' } } as unknown as Identity;
      const ch = await svc.create(identity, { kind: 'webhook', name: 'rebind', url: `http://rebind.test:${receiver.port}/ok` }, { ip: '127.0.0.1' });
      const before = receiver.got.length;
      await svc.notify({ userId: u.id, topic: 'alert.opened', subject: 's', text: 't', data: {} });
      await svc.idle();
      const [d] = await deliveriesOf(u.token, ch.id);
      assert.equal(d!.status, 'failed');
      assert.equal(d!.attempts, 1, 'a refusal is final');
      assert.match(d!.error!, /127\.0\.0\.1 is a loopback address/);
      assert.equal(receiver.got.length, before, 'no request reached 127.0.0.1');
      await svc.close();
    });

    test('pending deliveries survive a restart: a new service sends them on start', async () => {
      const mk = () => createNotifications({ db: h.db.handle.db, config: h.config, sealKey: 'r'.repeat(43), events: h.services.events, clock: h.clock, log: h.app.log });
      const first = mk();
      const u = await newUser();
      const identity = { user: { id: u.id, username: 'x' } } as unknown as Identity;
      const ch = await first.create(identity, { kind: 'webhook', name: 'resume', url: receiver.url('/ok') }, { ip: '127.0.0.1' });
      await first.close(); // the "old process" stops before it could send
      await first.notify({ userId: u.id, topic: 'alert.opened', subject: 'queued before restart', text: 't', data: {} });
      await new Promise((r) => setTimeout(r, 100));
      const [queued] = await deliveriesOf(u.token, ch.id);
      assert.deepEqual([queued!.status, queued!.attempts], ['pending', 0]);
      assert.ok(!receiver.got.some((g) => g.headers['x-twarga-delivery'] === String(queued!.id)));

      const second = mk();
      await second.start();
      await second.idle();
      assert.equal((await deliveriesOf(u.token, ch.id))[0]!.status, 'delivered');
      const got = receiver.got.find((g) => g.headers['x-twarga-delivery'] === String(queued!.id))!;
      assert.equal(got.headers['x-twarga-signature'], hmacHex(ch.secret!, got.raw), 'the stored (sealed) secret still signs');
      await second.close();
    });
  });
}

describe('e-mail when the SMTP server is missing or down', () => {
  test('an e-mail delivery fails at once with "SMTP not configured"', async () => {
    const h = await createHarness('sqlite', { notificationRetrySeconds: '0.05,0.1' });
    try {
      const u = await h.user('nosmtp');
      const ch = (await h.request({ method: 'POST', url: '/api/notifications/channels', token: u.token, body: { kind: 'email', name: 'm', email: 'x@example.com' } })).json();
      const d = (await h.request({ method: 'POST', url: `/api/notifications/channels/${ch.id}/test`, token: u.token })).json();
      assert.equal(d.status, 'failed');
      assert.equal(d.attempts, 1);
      assert.match(d.error, /SMTP not configured/);
    } finally {
      await h.close();
    }
  });

  test('an unreachable SMTP server: retried, then failed, and the error does not show the relay\'s address', async () => {
    const port = await closedPort();
    const h = await createHarness('sqlite', { smtpUrl: `smtp://127.0.0.1:${port}`, notificationRetrySeconds: '0.05,0.1' });
    try {
      const u = await h.user('smtpdown');
      const ch = (await h.request({ method: 'POST', url: '/api/notifications/channels', token: u.token, body: { kind: 'email', name: 'm', email: 'x@example.com' } })).json();
      await h.services.notifications.notify({ userId: u.id, topic: 'alert.opened', subject: 's', text: 't', data: {} });
      await h.services.notifications.idle();
      const [d] = (await h.request({ method: 'GET', url: `/api/notifications/deliveries?channel_id=${ch.id}`, token: u.token })).json();
      assert.deepEqual([d.status, d.attempts], ['failed', 3]);
      assert.match(d.error, /ECONNREFUSED/);
      assert.ok(!d.error.includes(String(port)), d.error);
    } finally {
      await h.close();
    }
  });
});

describe('notification settings', () => {
  test('TWARGA_NOTIFICATION_RETRY_SECONDS is a comma list of seconds; anything else stops the start', () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-notif-config-'));
    try {
      const load = (env: Record<string, string>) => loadConfig({ TWARGA_DATA_DIR: dataDir, ...env });
      assert.deepEqual(parseRetrySeconds(load({}).notificationRetrySeconds), [5_000, 30_000], 'default: 3 attempts, after 0, 5 and 30 s');
      assert.deepEqual(parseRetrySeconds(load({ TWARGA_NOTIFICATION_RETRY_SECONDS: '1.5,60,600' }).notificationRetrySeconds), [1_500, 60_000, 600_000]);
      assert.throws(() => load({ TWARGA_NOTIFICATION_RETRY_SECONDS: '5,soon' }), /notificationRetrySeconds \(TWARGA_NOTIFICATION_RETRY_SECONDS\)/);
      assert.throws(() => load({ TWARGA_SMTP_URL: 'http://mail.example.com' }), /smtpUrl \(TWARGA_SMTP_URL\)/);
      assert.throws(() => load({ TWARGA_WEBHOOK_ALLOW_HOSTS: 'a.example;rm -rf' }), /webhookAllowHosts/);
      assert.equal(load({ TWARGA_SMTP_URL: 'smtps://u:p@mail.example.com:465' }).smtpUrl, 'smtps://u:p@mail.example.com:465');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
