import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ApiClient, type AccountBilling, type BillingUsage, type LedgerEntry } from '@twarga/contract';
import { browserTrouble, cspViolations, launchChromium, pageErrors, screenshotsDir } from '../support/browser.js';
import { killQemusUnder } from '../support/qemu.js';
import { startServer } from '../support/server.js';

const shots = screenshotsDir();
const PASSWORD = 'correct horse battery';
const ADMIN_PASSWORD = 'e2e-admin-password';
const REASON = 'E2E top-up: thanks for testing';
const TOP_UP = 500;

/** "1,499 credits" as the page writes it (the same Intl formatting in Node and Chromium, en-US). */
const creditsText = (n: number) => `${new Intl.NumberFormat('en-US').format(n)} ${Math.abs(n) === 1 ? 'credit' : 'credits'}`;

/**
 * The browser test: an admin adjusts a user's credits in the admin panel, and the user's
 * billing page shows the ledger line and the new balance and runway; the month's statement adds up.
 * The user has one tiny VM (real QEMU, not waited for: billing starts at admission), so the burn
 * is not zero and the runway is a number of days.
 */
describe('browser: an admin tops a user up, and the billing page shows it', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  let browser: Browser;
  let admin: Page;
  let user: Page;
  let dataDir: string;
  let api: ApiClient;
  let vmId: number;
  let initial: AccountBilling;

  const billing = () => api.request<AccountBilling>('GET', '/api/account/billing');
  const adminClient = async () => new ApiClient({ baseUrl: server.base, token: (await new ApiClient({ baseUrl: server.base }).auth.login('admin', ADMIN_PASSWORD)).access_token });

  async function logIn(page: Page, username: string, password: string) {
    await page.goto(`${server.base}/login`);
    await page.getByLabel(/username/i).fill(username);
    await page.getByLabel(/^password$/i).fill(password);
    await page.getByRole('button', { name: /log in/i }).click();
    await page.waitForURL(/\/vms$/);
  }

  before(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-e2e-billing-'));
    server = await startServer({ TWARGA_DATA_DIR: dataDir, TWARGA_ADMIN_PASSWORD: ADMIN_PASSWORD, TWARGA_ACCEL: 'tcg', TWARGA_SSH_PORTS: '23870-23879' });
    const anon = new ApiClient({ baseUrl: server.base });
    await anon.auth.register({ username: 'payer', email: 'payer@example.com', password: PASSWORD });
    api = new ApiClient({ baseUrl: server.base, token: (await anon.auth.login('payer', PASSWORD)).access_token });
    vmId = (await api.vms.create({ name: 'billed-1', image: 'tiny', size: 's-1vcpu-256mb' })).id;
    initial = await billing();
    browser = await launchChromium();
    admin = await (await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' })).newPage();
    user = await (await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light', locale: 'en-US', timezoneId: 'UTC' })).newPage();
    mkdirSync(shots, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    killQemusUnder(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('before the top-up: the VM burns credits, so the runway is a number', async () => {
    assert.ok(initial.burn_rate_hourly > 0, `burn ${initial.burn_rate_hourly}`);
    assert.ok(initial.runway_hours !== null && initial.runway_hours > 0);
    await logIn(user, 'payer', PASSWORD);
    await user.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Billing' }).click();
    await user.waitForURL(/\/billing$/);
    await user.getByTestId('billing-balance').getByText(creditsText(initial.balance)).waitFor();
  });

  test('the admin adjusts the credits in the admin panel', async () => {
    await logIn(admin, 'admin', ADMIN_PASSWORD);
    await admin.goto(`${server.base}/admin/users`);
    await admin.getByRole('button', { name: 'Adjust credits for payer' }).click();
    const dialog = admin.getByRole('dialog');
    await dialog.getByLabel('Amount').fill(String(TOP_UP));
    await dialog.getByLabel('Reason').fill(REASON);
    await admin.screenshot({ path: path.join(shots, 'admin-adjust-credits-light.png') });
    await dialog.getByRole('button', { name: 'Apply adjustment' }).click();
    await dialog.waitFor({ state: 'hidden' });
    const topped = await billing();
    assert.equal(topped.balance, initial.balance + TOP_UP, 'the server took the adjustment');
  });

  test("the user's billing page shows the ledger line, the new balance and the new runway", async () => {
    const now = await billing();
    await user.reload();
    const ledger = user.getByTestId('ledger');
    const row = ledger.getByRole('row').filter({ hasText: REASON });
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /\+500/);
    assert.match((await row.textContent()) ?? '', /Credit/);
    await user.getByTestId('billing-balance').getByText(creditsText(initial.balance + TOP_UP)).waitFor();
    // The runway, worked out here from the balance and the burn: rounded down to whole days.
    const days = Math.floor(now.balance / now.burn_rate_hourly / 24);
    assert.ok(days >= 2, `a tiny VM on ${now.balance} credits lasts ${days} days`);
    assert.equal((await user.getByTestId('billing-runway').textContent())?.trim(), `Covers about ${days} days.`);
    assert.notEqual(days, Math.floor(initial.balance / initial.burn_rate_hourly / 24), 'the top-up moved the runway');
    // The VM's usage this month: its first hour, charged at admission.
    const usage = user.getByTestId('usage-table').getByRole('row').filter({ hasText: 'billed-1' });
    await usage.waitFor();
    assert.match((await usage.textContent()) ?? '', /1 credit\/hour/);
    // The policy says plainly that a stopped VM bills.
    assert.match((await user.getByTestId('policy-stopped').textContent()) ?? '', /stopped VM still bills until you destroy it/);
    assert.match((await user.getByTestId('policy-cap').textContent()) ?? '', new RegExp(`${now.policy.monthly_cap_hours} hours`));
    await user.screenshot({ path: path.join(shots, 'billing-light.png'), fullPage: true });
  });

  test('the ledger filters live in the URL, and the export carries them', async () => {
    await user.getByLabel('Kind').selectOption('credit');
    await user.waitForURL(/kind=credit/);
    const ledger = user.getByTestId('ledger');
    await ledger.getByRole('row').filter({ hasText: REASON }).waitFor();
    // Only credits are left: no row for the VM's usage.
    await user.waitForFunction(() => !document.querySelector('[data-testid="ledger"]')?.textContent?.includes('VM usage'));
    const csv = user.getByRole('link', { name: 'CSV' });
    const href = (await csv.getAttribute('href')) ?? '';
    assert.match(href, /^\/api\/account\/ledger\/export\?format=csv&kind=credit$/);
    const body = await user.evaluate(async (h) => {
      const res = await fetch(h);
      return { status: res.status, text: await res.text() };
    }, href);
    assert.equal(body.status, 200);
    assert.ok(body.text.includes(REASON), body.text.slice(0, 400));
    assert.ok(!/first.hour|usage/i.test(body.text.split('\n').slice(1).join('\n')), 'the filter applies to the export');
    // A search narrows it to the top-up; a reload keeps the view.
    await user.getByRole('searchbox', { name: 'Search' }).fill('thanks');
    await user.getByRole('button', { name: 'Search', exact: true }).click();
    await user.waitForURL(/q=thanks/);
    await user.reload();
    await ledger.getByRole('row').filter({ hasText: REASON }).waitFor();
    assert.equal(await ledger.locator('tbody tr').count(), 1);
    await user.getByRole('button', { name: 'Clear' }).click();
    await user.waitForURL(/\/billing$/);
  });

  test("the month's statement adds up and prints on one or two A4 pages", async () => {
    const month = new Date().toISOString().slice(0, 7);
    const usage = await api.request<BillingUsage>('GET', `/api/account/billing/usage?month=${month}`);
    const rows = await api.request<LedgerEntry[]>('GET', `/api/account/ledger?month=${month}`);
    await user.getByRole('link', { name: /^Statement for / }).click();
    await user.waitForURL(new RegExp(`/billing/statement/${month}$`));
    const num = async (id: string) => Number(((await user.getByTestId(id).textContent()) ?? '').replace(/[,\s]/g, '').replace('−', '-').replace('+', ''));
    await user.getByTestId('statement-closing').waitFor();
    assert.equal(await num('statement-opening'), usage.opening_balance);
    assert.equal(await num('statement-added'), usage.credits_added);
    assert.equal(await num('statement-usage'), -usage.total_credits);
    assert.equal(await num('statement-closing'), usage.closing_balance);
    assert.equal(usage.closing_balance, (await billing()).balance, 'this month closes at the balance');
    assert.ok(usage.credits_added >= TOP_UP, 'the top-up is a credit of the month');
    const other = (await user.getByTestId('statement-other').count()) ? await num('statement-other') : 0;
    assert.equal(usage.opening_balance + usage.credits_added - usage.total_credits + other, usage.closing_balance, 'the statement adds up');
    // Hours × price = credits for the VM, and every ledger row of the month is listed.
    const vm = usage.vms.find((v) => v.vm_id === vmId);
    assert.ok(vm, 'the VM has usage this month');
    const cells = await user.getByTestId('statement-usage-table').getByRole('row').filter({ hasText: 'billed-1' }).locator('td').allTextContents();
    assert.deepEqual(cells.slice(1).map((c) => c.trim()), [String(vm.hours), String(vm.price_hourly), String(vm.credits)]);
    assert.equal(vm.hours * vm.price_hourly, vm.credits, 'hours × price = credits');
    assert.equal(await user.getByTestId('statement-ledger').locator('tbody tr').count(), rows.length);
    await user.getByTestId('statement-ledger').getByRole('row').filter({ hasText: REASON }).waitFor();
    await user.screenshot({ path: path.join(shots, 'billing-statement-light.png'), fullPage: true });

    // In print the toolbar is gone, and the sheet fits on one or two A4 pages.
    await user.emulateMedia({ media: 'print' });
    assert.equal(await user.getByRole('button', { name: 'Print' }).isVisible(), false);
    assert.equal(await user.getByRole('link', { name: 'Back to billing' }).isVisible(), false);
    await user.screenshot({ path: path.join(shots, 'billing-statement-print.png'), fullPage: true });
    const pdf = await user.pdf({ format: 'A4' });
    writeFileSync(path.join(shots, 'billing-statement.pdf'), pdf);
    const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) ?? []).length;
    assert.ok(pages >= 1 && pages <= 2, `${pages} pages`);
    await user.emulateMedia({ media: 'screen' });
  });

  test('a long history loads page by page with "Load more"', async () => {
    const adminApi = await adminClient();
    const me = await api.auth.me();
    for (let i = 1; i <= 55; i++) await adminApi.admin.adjustCredits(me.id, { amount: 1, reason: `E2E bonus ${i}` });
    const total = (await api.request<LedgerEntry[]>('GET', '/api/account/ledger?limit=1000')).length;
    assert.ok(total > 50, `${total} rows`);
    await user.goto(`${server.base}/billing`);
    const rows = user.getByTestId('ledger').locator('tbody tr');
    await rows.first().waitFor();
    assert.equal(await rows.count(), 50, 'one page of 50');
    await user.getByRole('button', { name: 'Load more' }).click();
    await user.getByTestId('ledger').getByRole('row').filter({ hasText: REASON }).waitFor();
    assert.equal(await rows.count(), total, 'the rest, oldest last');
    assert.equal(await user.getByRole('button', { name: 'Load more' }).count(), 0, 'nothing more to load');
  });

  test("the VM's page and the create dialog say that a stopped VM still bills, and the monthly cap", async () => {
    const { policy } = await billing();
    const cap = creditsText(policy.monthly_cap_hours * 1); // the tiny size costs 1 credit an hour
    await user.goto(`${server.base}/vms/${vmId}`);
    const note = user.getByTestId('stopped-bills-note');
    await note.getByText(/at most/).waitFor();
    const text = (await note.textContent()) ?? '';
    assert.match(text, /A stopped VM still bills until you destroy it/);
    assert.ok(text.includes(cap), text);

    await user.goto(`${server.base}/vms/new`);
    await user.getByRole('radio', { name: /tiny/i }).check();
    await user.getByRole('radio', { name: /256 MB/ }).check();
    await user.getByLabel('Name', { exact: true }).fill('not-created');
    await user.getByRole('button', { name: 'Create VM' }).click();
    const dialog = user.getByRole('dialog');
    await dialog.getByText('Monthly cap').waitFor();
    assert.match((await dialog.textContent()) ?? '', new RegExp(`Monthly cap${cap}`));
    assert.match((await dialog.getByTestId('stopped-bills-note').textContent()) ?? '', /A stopped VM still bills until you destroy it/);
    await user.screenshot({ path: path.join(shots, 'create-vm-confirm-billing-light.png') });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
  });

  test('at zero the VM list announces when the VMs will be stopped, and a top-up ends it', async () => {
    const adminApi = await adminClient();
    const me = await api.auth.me();
    await adminApi.admin.adjustCredits(me.id, { amount: -(await billing()).balance, reason: 'E2E: run out of credits' });
    let now = await billing();
    for (let i = 0; i < 50 && now.state !== 'grace'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      now = await billing();
    }
    assert.equal(now.state, 'grace', 'the balance watch started the grace period');
    assert.ok(now.grace_ends_at && Date.parse(now.grace_ends_at) > Date.now());
    await user.goto(`${server.base}/vms`);
    const banner = user.getByRole('alert').filter({ hasText: 'Your VMs will be stopped at' });
    await banner.waitFor();
    // The deadline, as the page formats it (en-US, UTC in this browser context).
    const deadline = new Intl.DateTimeFormat('en-US', { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: 'UTC' }).format(new Date(now.grace_ends_at));
    assert.ok(((await banner.textContent()) ?? '').includes(deadline), `${await banner.textContent()} has ${deadline}`);
    await user.screenshot({ path: path.join(shots, 'vms-billing-grace-light.png') });
    await banner.getByRole('link', { name: 'See billing' }).click();
    await user.waitForURL(/\/billing$/);
    await user.getByTestId('billing-state').getByText('Grace period').waitFor();
    assert.equal((await user.getByTestId('billing-runway').textContent())?.trim(), 'Your balance is used up.');

    await adminApi.admin.adjustCredits(me.id, { amount: 100, reason: 'E2E: top-up after grace' });
    for (let i = 0; i < 50 && (await billing()).state === 'grace'; i++) await new Promise((r) => setTimeout(r, 100));
    await user.goto(`${server.base}/vms`);
    await user.getByRole('link', { name: 'billed-1' }).waitFor();
    assert.equal(await user.getByRole('alert').filter({ hasText: 'Your VMs will be stopped' }).count(), 0);
  });

  test('on a phone, in dark mode, the billing page fits the screen', async () => {
    const phone = await browser.newContext({ viewport: { width: 375, height: 740 }, colorScheme: 'dark', locale: 'en-US', timezoneId: 'UTC', storageState: await user.context().storageState() });
    const p = await phone.newPage();
    await p.goto(`${server.base}/billing`);
    assert.equal(await p.evaluate(() => document.documentElement.classList.contains('dark')), true, 'dark, as the system prefers');
    await p.getByTestId('ledger').waitFor();
    const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`);
    await p.screenshot({ path: path.join(shots, 'billing-phone-dark.png'), fullPage: true });
    await phone.close();
  });

  test('no page broke its Content-Security-Policy or threw', (t) => {
    for (const line of browserTrouble(browser)) t.diagnostic(line);
    assert.deepEqual(cspViolations(browser), []);
    assert.deepEqual(pageErrors(browser), []);
  });
});
