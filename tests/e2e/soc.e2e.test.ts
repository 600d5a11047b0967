import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ApiClient, ApiError, type Event, type User } from '@twarga/contract';
import { browserTrouble, cspViolations, launchChromium, pageErrors, screenshotsDir } from '../support/browser.js';
import { startServer } from '../support/server.js';
import { until } from '../support/until.js';

const shots = screenshotsDir();
const PASSWORD = 'correct horse battery';
const ADMIN_PASSWORD = 'e2e-admin-password';
/** The promise: an event caused by an action shows in the open feed within 2 s. */
const LIVE_MS = 2_000;

/** The SOC page against the real server (no VM): the live feed, search, detail, incidents, export, isolation. */
describe('browser: the SOC page', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  let browser: Browser;
  let alicePage: Page;
  let bobPage: Page;
  let adminPage: Page;
  let alice: ApiClient;
  let bob: ApiClient;
  let admin: ApiClient;
  let aliceUser: User;
  let dataDir: string;

  async function login(p: Page, username: string, password: string) {
    await p.goto(`${server.base}/login`);
    await p.getByLabel(/username/i).fill(username);
    await p.getByLabel(/^password$/i).fill(password);
    await p.getByRole('button', { name: /log in/i }).click();
    await p.waitForURL(/\/vms$/);
  }

  async function register(name: string): Promise<{ api: ApiClient; user: User }> {
    const anon = new ApiClient({ baseUrl: server.base });
    const user = await anon.auth.register({ username: name, email: `${name}@example.com`, password: PASSWORD });
    return { api: new ApiClient({ baseUrl: server.base, token: (await anon.auth.login(name, PASSWORD)).access_token }), user };
  }

  /** Opens the SOC page and waits until its feed has loaded and the live stream's first open has passed. */
  async function openFeed(p: Page, query = '') {
    await p.goto(`${server.base}/soc${query}`);
    await p.getByRole('heading', { name: 'Live feed' }).waitFor();
    await p.getByTestId('soc-feed').or(p.getByText(/No event (yet|matches)/)).first().waitFor({ timeout: 15_000 });
    // The stream's first open reloads what the page loaded just before it (resyncAfterGap).
    await p.waitForTimeout(1_000);
    await p.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));
  }

  /** Watches a page for loads of the event list (a refetch or poll would show the event without the stream). */
  function watchListLoads(p: Page) {
    const loads: string[] = [];
    const onRequest = (r: { url(): string }) => {
      if (/\/api\/soc\/events(\?|$)/.test(r.url())) loads.push(r.url());
    };
    p.on('request', onRequest);
    return { loads, stop: () => p.off('request', onRequest) };
  }

  const feedRow = (p: Page, text: string) => p.getByTestId('soc-feed').getByRole('row').filter({ hasText: text });
  const sameDocument = (p: Page) => p.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument === true);

  before(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-e2e-soc-'));
    // The brute force below comes from loopback like everything else: a high per-address rate limit
    // lets it reach the lockout and the rule instead of stopping at 429s.
    server = await startServer({ TWARGA_DATA_DIR: dataDir, TWARGA_ADMIN_PASSWORD: ADMIN_PASSWORD, TWARGA_LOGIN_RATE_LIMIT: '1000' });
    ({ api: alice, user: aliceUser } = await register('alice'));
    ({ api: bob } = await register('bob'));
    await register('carol');
    admin = new ApiClient({ baseUrl: server.base, token: (await new ApiClient({ baseUrl: server.base }).auth.login('admin', ADMIN_PASSWORD)).access_token });
    browser = await launchChromium();
    const context = (colorScheme: 'light' | 'dark') => browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme, acceptDownloads: true });
    alicePage = await (await context('light')).newPage();
    bobPage = await (await context('light')).newPage();
    adminPage = await (await context('dark')).newPage();
    mkdirSync(shots, { recursive: true });
    await login(alicePage, 'alice', PASSWORD);
    await login(bobPage, 'bob', PASSWORD);
    await login(adminPage, 'admin', ADMIN_PASSWORD);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('an action appears in the open feed within 2 s, pushed by the stream (no reload, no refetch)', async () => {
    await openFeed(alicePage);
    const watch = watchListLoads(alicePage);
    try {
      const started = Date.now();
      await alice.account.tokens.create({ name: 'feed-probe', scope: 'read' });
      await feedRow(alicePage, 'API token "feed-probe"').waitFor({ timeout: Math.max(1, LIVE_MS - (Date.now() - started)) });
      const elapsed = Date.now() - started;
      assert.ok(elapsed < LIVE_MS, `shown after ${elapsed} ms`);
      assert.equal(await sameDocument(alicePage), true, 'no reload');
      assert.deepEqual(watch.loads, [], 'it came from the events stream, not from loading the list again');
    } finally {
      watch.stop();
    }
    // Newest first, with its severity written out (not colour alone).
    const first = alicePage.getByTestId('soc-event').first();
    assert.match(await first.innerText(), /API token "feed-probe"/);
    assert.match(await first.innerText(), /Info/);
    await alicePage.screenshot({ path: path.join(shots, 'soc-feed.png'), fullPage: true });
  });

  test('paused, new events are counted in a badge and shown on resume', async () => {
    await alicePage.getByRole('button', { name: 'Pause' }).click();
    await alicePage.getByRole('button', { name: 'Resume' }).waitFor();
    await alice.account.tokens.create({ name: 'while-paused-1', scope: 'read' });
    await alice.account.tokens.create({ name: 'while-paused-2', scope: 'read' });
    await alicePage.getByTestId('soc-new-badge').filter({ hasText: '2 new' }).waitFor({ timeout: LIVE_MS * 2 });
    assert.equal(await feedRow(alicePage, 'while-paused').count(), 0, 'the list does not move while paused');
    await alicePage.getByRole('button', { name: 'Resume' }).click();
    await feedRow(alicePage, 'while-paused-2').waitFor({ timeout: 2_000 });
    assert.equal(await feedRow(alicePage, 'while-paused').count(), 2);
    assert.equal(await alicePage.getByTestId('soc-new-badge').count(), 0);
  });

  test('search finds an event by a word, the query is in the URL, and live arrivals respect it', async () => {
    await alice.account.tokens.create({ name: 'zebracrossing', scope: 'read' });
    await openFeed(alicePage);
    await alicePage.getByRole('searchbox', { name: 'Search' }).fill('zebracrossing');
    await alicePage.getByRole('searchbox', { name: 'Search' }).press('Enter');
    await alicePage.waitForURL(/[?&]q=zebracrossing/);
    await until('only the matching event listed', async () => {
      const rows = await alicePage.getByTestId('soc-event').allInnerTexts();
      return rows.length === 1 && rows[0]!.includes('zebracrossing') ? true : undefined;
    }, 10_000);
    // A shared link opens the same view.
    const shared = alicePage.url();
    await openFeed(alicePage, new URL(shared).search);
    assert.equal(await alicePage.getByRole('searchbox', { name: 'Search' }).inputValue(), 'zebracrossing');
    // Live: an event without the word stays out, one with it comes in.
    await alice.account.tokens.create({ name: 'giraffe', scope: 'read' });
    const started = Date.now();
    await alice.account.tokens.create({ name: 'zebracrossing', scope: 'read-write' });
    await until('the second match pushed in', async () => ((await alicePage.getByTestId('soc-event').count()) === 2 ? true : undefined), LIVE_MS);
    assert.ok(Date.now() - started < LIVE_MS + 300);
    assert.equal(await feedRow(alicePage, 'giraffe').count(), 0, 'a live event that does not match the search is not shown');
  });

  test('the detail modal shows every field, the details as JSON, and related events that open in turn', async () => {
    await openFeed(alicePage);
    await feedRow(alicePage, 'API token "feed-probe"').getByRole('button').click();
    const dialog = alicePage.getByRole('dialog');
    const detail = dialog.getByTestId('soc-event-detail');
    await detail.waitFor();
    const id = Number(await detail.getAttribute('data-event-id'));
    assert.match(alicePage.url(), new RegExp(`[?&]event=${id}`), 'the open event is in the URL');
    await dialog.getByText('token.created', { exact: true }).waitFor();
    const json = JSON.parse(await dialog.getByTestId('soc-event-details-json').innerText()) as Record<string, unknown>;
    assert.equal(json.scope, 'read');
    // Every event of this test came from 127.0.0.1: the same source holds her other events.
    const related = dialog.getByTestId('related-source').getByRole('button');
    await related.first().waitFor();
    assert.ok((await related.count()) >= 3, 'related events from the same address');
    await alicePage.screenshot({ path: path.join(shots, 'soc-event-detail.png') });
    await related.first().click();
    await until('the related event opened', async () => {
      const shown = Number(await dialog.getByTestId('soc-event-detail').getAttribute('data-event-id'));
      return shown !== id ? shown : undefined;
    }, 5_000);
    await dialog.getByRole('button', { name: 'Close' }).click();
    await until('dialog closed', async () => ((await alicePage.getByRole('dialog').count()) === 0 ? true : undefined), 5_000);
  });

  test('older events load page by page with the cursor, each once, newest first', async () => {
    // 60 more events of hers (a token made and revoked, 30 times): more than one page of 50.
    for (let i = 0; i < 30; i++) {
      const t = await alice.account.tokens.create({ name: `page-filler-${i}`, scope: 'read' });
      await alice.account.tokens.revoke(t.id);
    }
    const total = (await alice.soc.events({ limit: 500 })).events.length;
    assert.ok(total > 60, `${total} events`);
    await openFeed(alicePage);
    const rows = alicePage.getByTestId('soc-event');
    assert.equal(await rows.count(), 50, 'the first page');
    await alicePage.getByRole('button', { name: 'Load older events' }).click();
    await until('the next page shown', async () => ((await rows.count()) === total ? true : undefined), 10_000);
    const ids = (await rows.evaluateAll((els) => els.map((el) => Number(el.getAttribute('data-event-id')))));
    assert.deepEqual(ids, [...ids].sort((a, b) => b - a), 'newest first');
    assert.equal(new Set(ids).size, ids.length, 'each event once');
    assert.equal(await alicePage.getByRole('button', { name: 'Load older events' }).count(), 0, 'no further page');
  });

  test('export downloads exactly the filtered rows, as CSV and as JSON', async () => {
    await openFeed(alicePage, '?code=token.created');
    const expected = (await alice.soc.events({ code: 'token.created', limit: 500 })).events.map((e) => e.id).sort((a, b) => a - b);
    assert.ok(expected.length >= 5);

    const [json] = await Promise.all([alicePage.waitForEvent('download'), alicePage.getByRole('link', { name: 'JSON' }).click()]);
    const rows = JSON.parse(readFileSync((await json.path())!, 'utf8')) as Event[];
    assert.deepEqual(rows.map((e) => e.id).sort((a, b) => a - b), expected);
    assert.ok(rows.every((e) => e.code === 'token.created' && e.user_id === aliceUser.id));

    const [csv] = await Promise.all([alicePage.waitForEvent('download'), alicePage.getByRole('link', { name: 'CSV' }).click()]);
    assert.match(csv.suggestedFilename(), /\.csv$/);
    const lines = readFileSync((await csv.path())!, 'utf8').trim().split(/\r?\n/);
    assert.equal(lines.length, expected.length + 1, 'a header and one line per filtered event');
    assert.ok(lines.slice(1).every((l) => l.includes('token.created')));
  });

  test("a user sees none of another user's events: not listed, not pushed, not through the API", async () => {
    await openFeed(bobPage);
    assert.equal(await bobPage.getByText('feed-probe').count(), 0);
    assert.equal(await bobPage.getByText('zebracrossing').count(), 0);
    await alice.account.tokens.create({ name: 'alice-secret-probe', scope: 'read' });
    // Bob's own action does arrive (the feed is live), and alice's, made before it, never does.
    await bob.account.tokens.create({ name: 'bob-probe', scope: 'read' });
    await feedRow(bobPage, 'bob-probe').waitFor({ timeout: LIVE_MS });
    await bobPage.waitForTimeout(300);
    assert.equal(await bobPage.getByText('alice-secret-probe').count(), 0);
    const rows = await bobPage.getByTestId('soc-event').allInnerTexts();
    assert.ok(rows.every((r) => !/alice/.test(r)), rows.join('\n'));
    // Asking the API for her events gives nothing of hers.
    const theirs = await bob.soc.events({ user_id: aliceUser.id }).then((r) => r.events, (err: unknown) => (err instanceof ApiError && err.status === 403 ? [] : Promise.reject(err)));
    assert.deepEqual(theirs.filter((e) => e.user_id === aliceUser.id), []);
    // No all-tenants switch and no rules tab for a user.
    assert.equal(await bobPage.getByRole('switch', { name: 'All tenants' }).count(), 0);
    assert.equal(await bobPage.getByRole('link', { name: 'Rules' }).count(), 0);
  });

  test("an admin sees only events about them by default, and everyone's with All tenants", async () => {
    await openFeed(adminPage);
    assert.equal(await adminPage.getByText('alice-secret-probe').count(), 0, "alice's events are not about the admin");
    await adminPage.getByRole('switch', { name: 'All tenants' }).click();
    await adminPage.waitForURL(/[?&]all=1/);
    await feedRow(adminPage, 'alice-secret-probe').waitFor({ timeout: 10_000 });
    // Live for everyone's events too.
    const started = Date.now();
    await bob.account.tokens.create({ name: 'seen-by-admin', scope: 'read' });
    await feedRow(adminPage, 'seen-by-admin').waitFor({ timeout: Math.max(1, LIVE_MS - (Date.now() - started)) });
    await adminPage.getByTestId('soc-stats').waitFor();
    await adminPage.getByTestId('chart-soc-hours').waitFor();
    await adminPage.screenshot({ path: path.join(shots, 'soc-admin-dark.png'), fullPage: true });
  });

  test('a control-plane brute force opens an incident; the admin acknowledges it and the status updates', async () => {
    const anon = new ApiClient({ baseUrl: server.base });
    for (let i = 0; i < 12; i++) {
      await anon.auth.login('carol', `wrong password ${i}`).then(
        () => assert.fail('a wrong password signed in'),
        (err: unknown) => assert.ok(err instanceof ApiError && (err.status === 401 || err.status === 429), String(err)),
      );
    }
    const incident = await until('the brute-force incident', async () => (await admin.soc.incidents.list({ status: 'open' })).find((i) => i.rule_id === 'control_plane_brute_force'), 15_000);
    await adminPage.goto(`${server.base}/soc?tab=incidents&all=1`);
    const row = adminPage.getByTestId('soc-incident').filter({ hasText: 'Control-plane login brute force' });
    await row.getByRole('button').click();
    const dialog = adminPage.getByRole('dialog');
    await dialog.getByTestId('incident-status').getByText('Open').waitFor();
    assert.match(adminPage.url(), new RegExp(`[?&]incident=${incident.id}`));
    await dialog.getByLabel('Comment').fill('Seen; loopback test traffic');
    await dialog.getByRole('button', { name: 'Acknowledge' }).click();
    await dialog.getByTestId('incident-status').getByText('Acknowledged').waitFor({ timeout: 5_000 });
    await dialog.getByTestId('incident-history').getByText('Seen; loopback test traffic').waitFor();
    const stored = await admin.soc.incidents.get(incident.id);
    assert.equal(stored.status, 'acknowledged');
    assert.ok(stored.history.some((h) => h.action === 'acknowledged' && h.actor_username === 'admin'));
    // The admin may block on every VM; the control plane is not offered for this loopback address
    // (the server would refuse it: it would lock the host out).
    await dialog.getByLabel('Where').locator('option[value="all_vms"]').waitFor({ state: 'attached' });
    assert.equal(await dialog.getByLabel('Where').locator('option[value="control_plane"]').count(), 0);
    await adminPage.screenshot({ path: path.join(shots, 'soc-incident.png') });
    // Block its address from the incident: on every VM's SSH.
    await dialog.getByLabel('Where').selectOption('all_vms');
    await dialog.getByLabel('For').selectOption({ label: '10 minutes' });
    await dialog.getByRole('button', { name: 'Block address' }).click();
    await dialog.getByText(/^Blocked until .* \(offence 1\)\.$/).waitFor({ timeout: 5_000 });
    const block = (await admin.soc.blocks.list({ active: true })).find((b) => b.incident_id === incident.id);
    assert.ok(block && block.address === '127.0.0.1' && block.scope === 'all_vms', JSON.stringify(block));
    await dialog.getByRole('button', { name: 'Close' }).click();
    // The list follows: the incident left the "Open" filter.
    await until('the list updated', async () => ((await row.count()) === 0 ? true : undefined), 5_000);
  });

  test('blocks: the incident\'s block is listed; an admin adds one, sees its countdown, and lifts both after confirming', async () => {
    await adminPage.goto(`${server.base}/soc?tab=blocks&all=1`);
    await adminPage.getByRole('heading', { name: 'Blocked addresses' }).waitFor();
    const fromIncident = adminPage.getByTestId('soc-block').filter({ hasText: '127.0.0.1' });
    await fromIncident.getByText(/incident #\d+/).waitFor();
    await fromIncident.getByText(/^in (9|10) min/).waitFor();
    await adminPage.getByRole('textbox', { name: 'Address' }).fill('203.0.113.77');
    await adminPage.getByLabel('Where').selectOption('all_vms');
    await adminPage.getByLabel('For', { exact: true }).selectOption({ label: '1 hour' });
    await adminPage.getByRole('button', { name: 'Block', exact: true }).click();
    const row = adminPage.getByTestId('soc-block').filter({ hasText: '203.0.113.77' });
    await row.getByText(/^in (59|60) min|^in 1 h/).waitFor({ timeout: 5_000 });
    await adminPage.screenshot({ path: path.join(shots, 'soc-blocks-dark.png'), fullPage: true });
    await row.getByRole('button', { name: 'Lift the block on 203.0.113.77' }).click();
    const confirm = adminPage.getByRole('dialog');
    await confirm.getByRole('button', { name: 'Lift block' }).click();
    await until('the block lifted', async () => ((await row.count()) === 0 ? true : undefined), 5_000);
    assert.equal((await admin.soc.blocks.list({ active: true })).some((b) => b.address === '203.0.113.77'), false);
    await fromIncident.getByRole('button', { name: 'Lift the block on 127.0.0.1' }).click();
    await adminPage.getByRole('dialog').getByRole('button', { name: 'Lift block' }).click();
    await until('the incident\'s block lifted', async () => ((await fromIncident.count()) === 0 ? true : undefined), 5_000);
    await adminPage.getByText('No address is blocked.').waitFor();
  });

  test('rules: an admin disables one and tunes another, and the server keeps it', async () => {
    await adminPage.goto(`${server.base}/soc?tab=rules&all=1`);
    const rule = adminPage.locator('[data-testid="soc-rule"][data-rule-id="credential_stuffing"]');
    const toggle = rule.getByRole('switch');
    await toggle.waitFor();
    assert.equal(await toggle.getAttribute('aria-checked'), 'true');
    await toggle.click();
    await until('the switch off', async () => ((await toggle.getAttribute('aria-checked')) === 'false' ? true : undefined), 5_000);
    await rule.getByLabel(/Distinct values/).fill('7');
    await rule.getByLabel('Within (minutes)').fill('15');
    await rule.getByRole('button', { name: 'Save' }).click();
    const stored = await until('the rule saved', async () => {
      const r = (await admin.soc.rules.list()).find((x) => x.id === 'credential_stuffing');
      return r && r.threshold === 7 ? r : undefined;
    }, 5_000);
    assert.deepEqual({ enabled: stored.enabled, threshold: stored.threshold, window_seconds: stored.window_seconds }, { enabled: false, threshold: 7, window_seconds: 900 });
    await adminPage.screenshot({ path: path.join(shots, 'soc-rules-dark.png'), fullPage: true });
    // A user gets no rules tab, and the route refuses them.
    await assert.rejects(bob.soc.rules.update('credential_stuffing', { enabled: true }), (err: unknown) => err instanceof ApiError && err.status === 403);
  });

  test('no page broke its Content-Security-Policy or threw', (t) => {
    for (const line of browserTrouble(browser)) t.diagnostic(line);
    assert.deepEqual(cspViolations(browser), []);
    assert.deepEqual(pageErrors(browser), []);
  });
});
