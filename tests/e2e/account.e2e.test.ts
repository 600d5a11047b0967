import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { browserTrouble, cspViolations, launchChromium, pageErrors, screenshotsDir } from '../support/browser.js';
import { startServer } from '../support/server.js';

const shots = screenshotsDir();
const PASSWORD = 'correct horse battery';

function realPublicKey(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'twarga-e2e-key-'));
  try {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'e2e@laptop', '-f', path.join(dir, 'id')], { timeout: 30_000 });
    return readFileSync(path.join(dir, 'id.pub'), 'utf8').trim();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('browser: a new user manages keys and tokens', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  let browser: Browser;
  let page: Page;
  let dataDir: string;

  before(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-e2e-'));
    server = await startServer({ TWARGA_DATA_DIR: dataDir, TWARGA_ADMIN_PASSWORD: 'e2e-admin-password' });
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: 'light' });
    page = await context.newPage();
    mkdirSync(shots, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const url = (p: string) => `${server.base}${p}`;

  test('register, then land on the VMs page logged in', async () => {
    await page.goto(url('/register'));
    await page.screenshot({ path: path.join(shots, 'register-light.png') });
    await page.getByLabel('Username').fill('e2e-alice');
    await page.getByLabel(/^e-?mail/i).fill('alice@example.com');
    await page.getByLabel(/^password$/i).fill(PASSWORD);
    await page.getByLabel(/confirm/i).fill(PASSWORD);
    await page.getByRole('button', { name: /create account|register|sign up/i }).click();
    await page.waitForURL(/\/vms$/);
    await page.getByRole('heading', { name: 'Virtual machines' }).waitFor();
    assert.ok(await page.getByText('e2e-alice').first().isVisible());
  });

  test('log out, and log in again through the login form', async () => {
    await page.getByRole('button', { name: /log out/i }).click();
    await page.waitForURL(/\/login/);
    await page.goto(url('/account'));
    await page.waitForURL(/\/login\?next=%2Faccount/);
    await page.getByLabel(/username/i).fill('e2e-alice');
    await page.getByLabel(/^password$/i).fill('wrong password here');
    await page.getByRole('button', { name: /log in|sign in/i }).click();
    await page.getByRole('alert').filter({ hasText: /wrong username or password/i }).waitFor();
    await page.screenshot({ path: path.join(shots, 'login-error-light.png') });
    await page.getByLabel(/^password$/i).fill(PASSWORD);
    await page.getByRole('button', { name: /log in|sign in/i }).click();
    await page.waitForURL(/\/account$/);
  });

  test('add an SSH key and see its fingerprint', async () => {
    const publicKey = realPublicKey();
    const expected = execFileSync('ssh-keygen', ['-l', '-f', '-'], { input: publicKey, timeout: 10_000 }).toString().split(' ')[1]!;
    await page.getByLabel('Key name').fill('laptop');
    await page.getByLabel('Public key').fill(publicKey);
    await page.getByRole('button', { name: 'Add SSH key' }).click();
    await page.getByText(expected).waitFor();
  });

  test('a bad key shows a clear error', async () => {
    await page.getByLabel('Key name').fill('broken');
    await page.getByLabel('Public key').fill('ssh-ed25519 definitely-not-a-key');
    await page.getByRole('button', { name: 'Add SSH key' }).click();
    await page.getByText(/not a valid OpenSSH public key/i).first().waitFor();
  });

  test('create an API token, shown once, and call the API with it', async () => {
    await page.getByLabel('Token name').fill('ci');
    await page.getByLabel('Scope').selectOption('read-write');
    await page.getByRole('button', { name: 'Create token' }).click();
    const token = (await page.getByTestId('new-token').textContent())?.trim() ?? '';
    assert.match(token, /^twp_/);
    await page.screenshot({ path: path.join(shots, 'account-light.png'), fullPage: true });

    const keys = await fetch(url('/api/account/keys'), { headers: { authorization: `Bearer ${token}` } });
    assert.equal(keys.status, 200);
    const list = (await keys.json()) as { name: string }[];
    assert.deepEqual(list.map((k) => k.name), ['laptop']);

    await page.reload();
    await page.getByRole('heading', { name: 'API tokens' }).waitFor();
    assert.equal(await page.getByTestId('new-token').count(), 0, 'the secret is not shown again');
    assert.ok(!(await page.content()).includes(token));
  });

  test('dark mode toggles and survives a reload', async () => {
    const isDark = () => page.evaluate(() => document.documentElement.classList.contains('dark'));
    assert.equal(await isDark(), false);
    await page.getByRole('button', { name: 'Toggle dark mode' }).click();
    assert.equal(await isDark(), true);
    await page.reload();
    await page.getByRole('heading', { name: 'API tokens' }).waitFor();
    assert.equal(await isDark(), true, 'persisted');
    await page.screenshot({ path: path.join(shots, 'account-dark.png'), fullPage: true });
  });

  test('on a phone the navigation collapses into a menu', async () => {
    const phone = await browser.newContext({ viewport: { width: 375, height: 740 }, colorScheme: 'dark', storageState: await page.context().storageState() });
    const p = await phone.newPage();
    await p.goto(url('/vms'));
    const menu = p.getByRole('button', { name: 'Menu' });
    await menu.waitFor();
    assert.equal(await p.getByRole('link', { name: 'Account' }).isVisible(), false);
    await menu.click();
    await p.getByRole('link', { name: 'Account' }).waitFor();
    await p.screenshot({ path: path.join(shots, 'vms-phone-dark.png') });
    await phone.close();
  });

  test('log out revokes the session', async () => {
    await page.getByRole('button', { name: /log out/i }).click();
    await page.waitForURL(/\/login/);
    const me = await page.evaluate(async () => (await fetch('/api/auth/me')).status);
    assert.equal(me, 401);
  });

  test('the API reference opens in the browser (Swagger UI under its own policy)', async () => {
    await page.goto(`${server.base}/api/docs`);
    await page.getByRole('heading', { name: /Twarga Cloud API/ }).waitFor();
    await page.getByText('/api/vms', { exact: true }).first().waitFor();
  });

  test('no page broke its Content-Security-Policy or threw', (t) => {
    for (const line of browserTrouble(browser)) t.diagnostic(line);
    assert.deepEqual(cspViolations(browser), []);
    assert.deepEqual(pageErrors(browser), []);
  });
});
