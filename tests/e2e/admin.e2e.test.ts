import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ApiClient, EMERGENCY_STOP_ALL_PHRASE, type AdminUserDetail, type AuditPage, type Vm } from '@twarga/contract';
import { browserTrouble, cspViolations, launchChromium, pageErrors, screenshotsDir } from '../support/browser.js';
import { killQemusUnder } from '../support/qemu.js';
import { startServer } from '../support/server.js';
import { debianImageMissing } from '../../apps/server/src/test-support/debian-image.js';
import { until } from '../support/until.js';

const shots = screenshotsDir();
const debianMissing = debianImageMissing();
const ADMIN_PASSWORD = 'e2e-admin-password';
const PASSWORD = 'correct horse battery';
const BULK_REASON = 'E2E launch bonus';

/**
 * The admin panel in Chromium against the built server: the overview's health, finding a user,
 * their detail page and a quota override, a bulk credit, the audit log recording (and filtering)
 * those actions, the typed confirmation in front of "emergency stop all", and a real (QEMU, TCG)
 * VM of bob's that the admin force-stops and destroys from the VMs page.
 */
describe('browser: an admin runs the service from the admin panel', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  let browser: Browser;
  let page: Page;
  let admin: ApiClient;
  let dataDir: string;
  let bob: ApiClient;
  let rogue: number;
  const ids: Record<string, number> = {};

  const url = (p: string) => `${server.base}${p}`;
  async function logIn(p: Page, username: string, password: string) {
    await p.goto(url('/login'));
    await p.getByLabel(/username/i).fill(username);
    await p.getByLabel(/^password$/i).fill(password);
    await p.getByRole('button', { name: /log in/i }).click();
    await p.waitForURL(/\/vms$/);
  }
  const userRow = (username: string) => page.getByTestId('admin-user-row').and(page.locator(`[data-username="${username}"]`));
  const detail = (id: number) => admin.request<AdminUserDetail>('GET', `/api/admin/users/${id}`);

  before(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-e2e-admin-'));
    server = await startServer({ TWARGA_DATA_DIR: dataDir, TWARGA_ADMIN_PASSWORD: ADMIN_PASSWORD, TWARGA_ACCEL: 'tcg', TWARGA_SSH_PORTS: '23880-23889' });
    const anon = new ApiClient({ baseUrl: server.base });
    for (const name of ['alice', 'bob', 'carol', 'dave']) ids[name] = (await anon.auth.register({ username: name, email: `${name}@example.com`, password: PASSWORD })).id;
    bob = new ApiClient({ baseUrl: server.base, token: (await anon.auth.login('bob', PASSWORD)).access_token });
    // Booting under TCG takes a while: it boots while the first tests run.
    rogue = (await bob.vms.create({ name: 'rogue', image: 'tiny', size: 's-1vcpu-256mb' })).id;
    admin = new ApiClient({ baseUrl: server.base, token: (await anon.auth.login('admin', ADMIN_PASSWORD)).access_token });
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light', locale: 'en-US' })).newPage();
    // Browser tests share the machine with VM-heavy ones: waits tolerate slow answers.
    page.setDefaultTimeout(60_000);
    mkdirSync(shots, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    killQemusUnder(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('the overview shows every health component with its verdict, and the statistics', async () => {
    await logIn(page, 'admin', ADMIN_PASSWORD);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).click();
    await page.waitForURL(/\/admin$/);
    await page.getByRole('heading', { name: 'System health' }).waitFor();
    const components = page.getByTestId('health-component');
    await components.first().waitFor();
    const shown = await components.evaluateAll((els) => els.map((e) => [e.getAttribute('data-name'), e.getAttribute('data-status')]));
    const health = await admin.request<{ components: { name: string; status: string }[] }>('GET', '/api/admin/health');
    assert.deepEqual(new Set(shown.map(([n]) => n)), new Set(health.components.map((c) => c.name)), 'every component the server reports');
    assert.ok(shown.some(([n]) => n === 'database'), 'the database is one of them');
    for (const [, status] of shown) assert.match(status ?? '', /^(healthy|degraded|failed)$/);
    // Each row says its verdict in words; jobs say when they last ran.
    const db = components.and(page.locator('[data-name="database"]'));
    assert.match((await db.textContent()) ?? '', /Healthy|Degraded|Failed/);
    await page.getByTestId('stat-users').getByText('5', { exact: true }).waitFor();
    await page.mouse.move(0, 0);
    await page.screenshot({ path: path.join(shots, 'admin-overview-light.png'), fullPage: true });
  });

  test('the users list searches as you type (the search lands in the URL) and sorts by a column', async () => {
    await page.getByRole('navigation', { name: 'Admin sections' }).getByRole('link', { name: 'Users' }).click();
    await page.waitForURL(/\/admin\/users$/);
    await userRow('carol').waitFor();
    assert.equal(await page.getByTestId('admin-user-row').count(), 5);
    await page.getByRole('searchbox', { name: 'Search' }).fill('ali');
    await page.waitForURL(/[?&]q=ali/);
    await until('only alice listed', async () => ((await page.getByTestId('admin-user-row').count()) === 1 ? true : undefined), 30_000);
    await userRow('alice').waitFor();
    assert.match((await page.getByTestId('pager-summary').textContent()) ?? '', /of 1 users/);

    await page.getByRole('searchbox', { name: 'Search' }).fill('');
    await until('everyone listed again', async () => ((await page.getByTestId('admin-user-row').count()) === 5 ? true : undefined), 30_000);
    await page.getByRole('button', { name: /^Username/ }).click();
    await page.waitForURL(/sort=username&order=asc|order=asc&sort=username/);
    await until('sorted A→Z', async () => {
      const names = await page.getByTestId('admin-user-row').evaluateAll((els) => els.map((e) => e.getAttribute('data-username')));
      return names.join(',') === 'admin,alice,bob,carol,dave' ? true : undefined;
    }, 30_000);
    assert.equal(await page.getByRole('columnheader', { name: /^Username/ }).getAttribute('aria-sort'), 'ascending');
    await page.mouse.move(0, 0);
    await page.screenshot({ path: path.join(shots, 'admin-users-light.png') });
  });

  test("alice's page: profile, billing, and a quota override that the server stores", async () => {
    await userRow('alice').getByRole('link', { name: 'alice' }).click();
    await page.waitForURL(new RegExp(`/admin/users/${ids.alice}$`));
    await page.getByRole('heading', { name: /^alice/ }).waitFor();
    await page.getByText('alice@example.com').waitFor();
    await page.getByTestId('user-billing').waitFor();

    const form = page.getByRole('form', { name: 'Quota overrides' });
    const before = (await detail(ids.alice!)).quota;
    assert.equal(before.overrides.max_vms, null, 'no override yet');
    assert.match((await form.getByTestId('quota-max_vms').textContent()) ?? '', /server default/);
    await form.getByLabel('VMs').fill('-1');
    await form.getByRole('button', { name: 'Save quota' }).click();
    await form.getByText(/VMs: enter a whole number/).waitFor();

    await form.getByLabel('VMs').fill('2');
    const saved = page.waitForResponse((r) => r.url().endsWith(`/api/admin/users/${ids.alice}/quota`) && r.request().method() === 'PATCH');
    await form.getByRole('button', { name: 'Save quota' }).click();
    assert.equal((await saved).status(), 200);
    await form.getByRole('status').filter({ hasText: 'Quota saved' }).waitFor();
    await until('the hint shows the override', async () => (/Applies: 2 \(override\)/.test((await form.getByTestId('quota-max_vms').textContent()) ?? '') ? true : undefined), 30_000);
    const after = (await detail(ids.alice!)).quota;
    assert.deepEqual(after.overrides, { ...before.overrides, max_vms: 2 });
    assert.equal(after.effective.max_vms, 2);
    await page.mouse.move(0, 0);
    await page.screenshot({ path: path.join(shots, 'admin-user-light.png'), fullPage: true });
  });

  test('bulk credit: two users selected, a dialog that says how many, and both balances move', async () => {
    const start = { alice: (await detail(ids.alice!)).user.credits, bob: (await detail(ids.bob!)).user.credits, carol: (await detail(ids.carol!)).user.credits };
    await page.getByRole('link', { name: '← All users' }).click();
    await page.waitForURL(/\/admin\/users(\?|$)/);
    await page.getByRole('checkbox', { name: 'Select alice' }).check();
    await page.getByRole('checkbox', { name: 'Select bob' }).check();
    await page.getByTestId('selected-count').getByText('2 selected').waitFor();
    await page.getByRole('region', { name: 'Bulk actions' }).getByRole('button', { name: 'Credit…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Credit 2 users' });
    assert.match((await dialog.getByTestId('bulk-summary').textContent()) ?? '', /2 users: (alice and bob|bob and alice)/);
    await dialog.getByLabel('Amount').fill('250');
    await dialog.getByLabel('Reason').fill(BULK_REASON);
    await page.screenshot({ path: path.join(shots, 'admin-bulk-credit-light.png') });
    const answer = page.waitForResponse((r) => r.url().endsWith('/api/admin/users/bulk') && r.request().method() === 'POST');
    await dialog.getByRole('button', { name: 'Credit 2 users' }).click();
    assert.equal((await answer).status(), 200);
    await dialog.waitFor({ state: 'hidden' });
    await page.getByRole('status').filter({ hasText: 'Gave 2 users +250 credits each' }).waitFor();
    assert.equal(await page.getByTestId('selected-count').count(), 0, 'the selection is cleared');
    assert.equal((await detail(ids.alice!)).user.credits, start.alice + 250);
    assert.equal((await detail(ids.bob!)).user.credits, start.bob + 250);
    assert.equal((await detail(ids.carol!)).user.credits, start.carol, 'carol was not selected');
    // The table shows the new balances.
    const balance = new Intl.NumberFormat('en-US').format(start.alice + 250);
    await until("alice's new balance in the table", async () => ((await userRow('alice').textContent())?.includes(balance) ? true : undefined), 30_000);
  });

  test('the audit log lists those actions, filters by action (in the URL), and shows a change', async () => {
    const log = await admin.request<AuditPage>('GET', '/api/admin/audit?limit=200');
    const bulk = log.entries.find((e) => /bulk/.test(e.action) && e.outcome === 'succeeded');
    const quota = log.entries.find((e) => /quota/.test(e.action) && e.target_id === String(ids.alice));
    assert.ok(bulk, `a bulk entry among ${log.entries.map((e) => e.action).join(', ')}`);
    assert.ok(quota, 'a quota entry for alice');

    await page.getByRole('navigation', { name: 'Admin sections' }).getByRole('link', { name: 'Audit log' }).click();
    await page.waitForURL(/\/admin\/audit$/);
    const rows = page.getByTestId('audit-row');
    await rows.and(page.locator(`[data-action="${bulk.action}"]`)).first().waitFor();
    await rows.and(page.locator(`[data-action="${quota.action}"]`)).first().waitFor();
    await page.mouse.move(0, 0);
    await page.screenshot({ path: path.join(shots, 'admin-audit-light.png'), fullPage: true });

    await page.getByLabel('Action').fill(bulk.action);
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(new RegExp(`[?&]action=${bulk.action.replace(/\./g, '\\.')}`));
    await until('only bulk rows', async () => {
      const actions = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-action')));
      return actions.length > 0 && actions.every((a) => a === bulk.action) ? true : undefined;
    }, 30_000);
    // The export links carry the filter.
    const csv = (await page.getByRole('link', { name: 'CSV' }).getAttribute('href')) ?? '';
    assert.match(csv, new RegExp(`^/api/admin/audit/export\\?format=csv&action=${bulk.action.replace(/\./g, '\\.')}$`));
    const exported = await page.evaluate(async (h) => {
      const res = await fetch(h);
      return { status: res.status, text: await res.text() };
    }, csv);
    assert.equal(exported.status, 200);
    assert.ok(exported.text.includes(bulk.action), exported.text.slice(0, 300));

    // A reload keeps the filter; the row opens its detail with the change.
    await page.reload();
    await rows.first().waitFor();
    assert.equal(await page.getByLabel('Action').inputValue(), bulk.action);
    await rows.first().getByRole('button').click();
    const dialog = page.getByRole('dialog', { name: /^Audit entry #/ });
    await dialog.getByTestId('audit-detail').waitFor();
    assert.equal(await dialog.getByTestId('audit-detail').getAttribute('data-action'), bulk.action);
    await page.screenshot({ path: path.join(shots, 'admin-audit-detail-light.png') });
    await dialog.getByRole('button', { name: 'Close' }).click();
    await dialog.waitFor({ state: 'hidden' });
  });

  test('the audit log loads older entries with "Load more" (the cursor), and the dark theme reads well', async () => {
    // 60 more admin actions, through the API: more than one page (50) of the log.
    for (let i = 0; i < 60; i++) await admin.request('PATCH', `/api/admin/users/${ids.carol}/quota`, { max_vcpus: i % 2 ? 4 : null });
    await page.goto(url(`/admin/audit?target=${ids.carol}`));
    const rows = page.getByTestId('audit-row');
    await until("one page of carol's entries", async () => ((await rows.count()) === 50 ? true : undefined), 30_000);
    await page.getByRole('button', { name: 'Load more' }).click();
    await until('the older ones below', async () => ((await rows.count()) === 60 ? true : undefined), 30_000);
    assert.equal(await page.getByRole('button', { name: 'Load more' }).count(), 0, 'nothing older is left');

    const dark = await (await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'dark', locale: 'en-US', storageState: await page.context().storageState() })).newPage();
    await dark.goto(url('/admin'));
    await dark.getByTestId('health-component').first().waitFor();
    await dark.screenshot({ path: path.join(shots, 'admin-overview-dark.png'), fullPage: true });
    await dark.goto(url(`/admin/users/${ids.alice}`));
    await dark.getByTestId('user-billing').waitFor();
    await dark.screenshot({ path: path.join(shots, 'admin-user-dark.png'), fullPage: true });
    await dark.context().close();
  });

  test("bob's running VM: the admin finds it by owner, force-stops it, then destroys it", async () => {
    await until('rogue running', async () => ((await bob.vms.get(rogue)).status === 'running' ? true : undefined), 300_000);
    await page.goto(url('/admin/vms'));
    const row = page.getByTestId('admin-vm-row').and(page.locator('[data-vm="rogue"]'));
    await row.waitFor();
    await row.getByText('local', { exact: true }).waitFor();
    await row.getByRole('button', { name: "only theirs (show only bob's VMs)" }).click();
    await page.waitForURL(new RegExp(`[?&]owner=${ids.bob}`));
    await page.getByText('Owner: bob').waitFor();
    await page.mouse.move(0, 0);
    await page.screenshot({ path: path.join(shots, 'admin-vms-light.png') });

    await row.getByRole('button', { name: 'Stop rogue' }).click();
    const stop = page.getByRole('dialog', { name: 'Stop rogue?' });
    await stop.getByLabel(/Force: power off at once/).check();
    const stopped = page.waitForResponse((r) => r.url().endsWith(`/api/admin/vms/${rogue}/action`));
    await stop.getByRole('button', { name: 'Force stop' }).click();
    assert.equal((await stopped).status(), 202);
    assert.deepEqual(JSON.parse((await stopped).request().postData() ?? '{}'), { action: 'stop', force: true });
    await stop.waitFor({ state: 'hidden' });
    await until('rogue stopped', async () => ((await bob.vms.get(rogue)).status === 'stopped' ? true : undefined), 120_000);
    await row.getByText('stopped', { exact: true }).waitFor();

    await row.getByRole('button', { name: 'Destroy rogue' }).click();
    const destroy = page.getByRole('dialog', { name: 'Destroy rogue?' });
    await destroy.getByText(/deleted for good/).waitFor();
    await destroy.getByRole('button', { name: 'Destroy VM' }).click();
    await destroy.waitFor({ state: 'hidden' });
    await until('rogue destroyed', async () => {
      const vm = await bob.vms.get(rogue).catch((err: { status?: number }) => (err.status === 404 ? null : Promise.reject(err)));
      return vm === null || (vm as Vm).status === 'destroyed' ? true : undefined;
    }, 120_000);
    await row.waitFor({ state: 'detached', timeout: 60_000 });
  });

  test('emergency stop all VMs refuses a wrong phrase, then runs with the right one', async () => {
    await page.getByRole('navigation', { name: 'Admin sections' }).getByRole('link', { name: 'VMs' }).click();
    await page.waitForURL(/\/admin\/vms$/);
    await page.getByRole('heading', { name: 'Virtual machines' }).waitFor();
    let posts = 0;
    page.on('request', (r) => {
      if (r.url().endsWith('/api/admin/emergency-stop-all')) posts++;
    });
    await page.getByRole('button', { name: 'Emergency stop all VMs' }).click();
    const dialog = page.getByRole('dialog', { name: 'Emergency stop all VMs?' });
    await dialog.getByLabel(`Type ${EMERGENCY_STOP_ALL_PHRASE} to confirm`).fill('stop all vms');
    await dialog.getByRole('button', { name: 'Stop every VM' }).click();
    await dialog.getByText(`Type ${EMERGENCY_STOP_ALL_PHRASE} exactly`).waitFor();
    assert.equal(await dialog.getByLabel(`Type ${EMERGENCY_STOP_ALL_PHRASE} to confirm`).getAttribute('aria-invalid'), 'true');
    assert.equal(posts, 0, 'a wrong phrase is not even sent');
    await page.screenshot({ path: path.join(shots, 'admin-stop-all-light.png') });
    // The server refuses a wrong phrase too.
    await assert.rejects(admin.request('POST', '/api/admin/emergency-stop-all', { confirm: 'stop all vms' }), (err: { status?: number }) => err.status === 400);

    await dialog.getByLabel(`Type ${EMERGENCY_STOP_ALL_PHRASE} to confirm`).fill(EMERGENCY_STOP_ALL_PHRASE);
    const answer = page.waitForResponse((r) => r.url().endsWith('/api/admin/emergency-stop-all'));
    await dialog.getByRole('button', { name: 'Stop every VM' }).click();
    assert.equal((await answer).status(), 200);
    await dialog.waitFor({ state: 'hidden' });
    const result = page.getByTestId('emergency-stop-result');
    await result.waitFor();
    assert.equal(await result.getAttribute('data-requested'), '0', 'no VM runs here');
    await page.getByText('No VM was running.').waitFor();
  });

  test("Images: with builds off Debian 12 waits for an admin; Build imports the host's cached image", { skip: debianMissing && !debianMissing.fail ? debianMissing.reason : false }, async () => {
    assert.equal(debianMissing, undefined, debianMissing?.reason);
    await page.goto(url('/admin/images'));
    const row = page.locator('tr[data-slug="debian-12"]');
    await row.getByText('pending', { exact: true }).waitFor();
    await row.getByText(/automatic builds are off/).waitFor();
    await row.getByText('debian', { exact: true }).waitFor();
    await page.screenshot({ path: path.join(shots, 'admin-images-light.png') });
    // The cache holds a valid build (scripts/setup.sh --test made it): Build checks it and imports it.
    await row.getByRole('button', { name: 'Build debian-12' }).click();
    await row.getByText('available', { exact: true }).waitFor({ timeout: 90_000 });
    assert.equal(await row.getByRole('button').count(), 0, 'nothing to start once available');
  });

  test('deleting dave takes his username typed out; he stays listed as deleted, history kept', async () => {
    await page.goto(url(`/admin/users/${ids.dave}`));
    await page.getByRole('heading', { name: /^dave/ }).waitFor();
    await page.getByRole('button', { name: 'Delete user…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete dave?' });
    await dialog.getByText(/history stays/i).waitFor();
    await dialog.getByLabel('Type dave to confirm').fill('david');
    await dialog.getByRole('button', { name: 'Delete user' }).click();
    await dialog.getByText('Type the username, dave, to confirm.').waitFor();
    assert.equal((await detail(ids.dave!)).user.deleted_at, null, 'a wrong name deletes nothing');
    await dialog.getByLabel('Type dave to confirm').fill('dave');
    const answer = page.waitForResponse((r) => r.url().endsWith(`/api/admin/users/${ids.dave}`) && r.request().method() === 'DELETE');
    await dialog.getByRole('button', { name: 'Delete user' }).click();
    assert.equal((await answer).status(), 200);
    await dialog.waitFor({ state: 'hidden' });
    await page.getByRole('status').filter({ hasText: 'Deleted dave' }).waitFor();
    await page.getByRole('heading', { name: /^dave/ }).getByText('deleted', { exact: true }).waitFor();
    assert.notEqual((await detail(ids.dave!)).user.deleted_at, null);
    // The list leaves deleted accounts out unless asked.
    await page.goto(url('/admin/users?status=deleted'));
    await userRow('dave').waitFor();
    assert.equal(await page.getByTestId('admin-user-row').count(), 1);
  });

  test('a plain user never sees the admin pages: the server answers 403, and so does the app', async () => {
    const carol = await (await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' })).newPage();
    await logIn(carol, 'carol', PASSWORD);
    assert.equal(await carol.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).count(), 0, 'no Admin link');
    // A page load: the server refuses the admin pages themselves.
    for (const p of ['/admin/users', `/admin/users/${ids.alice}`, '/admin/audit']) {
      const res = await carol.goto(url(p));
      assert.equal(res?.status(), 403, p);
      await carol.getByRole('heading', { name: '403 — Administrators only' }).waitFor();
      assert.equal(await carol.getByText('alice@example.com').count(), 0);
    }
    await carol.screenshot({ path: path.join(shots, 'admin-forbidden-light.png') });
    // Inside the running app (a link, or back/forward): the admin shell shows its own notice.
    await carol.goto(url('/vms'));
    await carol.getByRole('heading', { name: 'Virtual machines' }).waitFor();
    await carol.evaluate(() => {
      history.pushState(null, '', '/admin/users');
      dispatchEvent(new PopStateEvent('popstate'));
    });
    await carol.getByRole('alert').filter({ hasText: '403 — Administrators only' }).waitFor();
    assert.equal(await carol.getByRole('navigation', { name: 'Admin sections' }).count(), 0);
    assert.equal(await carol.getByText('alice@example.com').count(), 0);
    await carol.context().close();
  });

  test('no page broke its Content-Security-Policy or threw', (t) => {
    for (const line of browserTrouble(browser)) t.diagnostic(line);
    assert.deepEqual(cspViolations(browser), []);
    assert.deepEqual(pageErrors(browser), []);
  });
});
