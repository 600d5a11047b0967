import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ApiClient } from '@twarga/contract';
import { waitForSshBanner } from '../../apps/server/src/test-support/ssh.js';
import { browserTrouble, cspViolations, launchChromium, pageErrors, screenshotsDir } from '../support/browser.js';
import { killQemusUnder } from '../support/qemu.js';
import { startServer } from '../support/server.js';

const shots = screenshotsDir();
const PASSWORD = 'correct horse battery';

/** A user launches a real (software-emulated) tiny VM from the browser and destroys it. */
describe('browser: launch, reach and destroy a VM', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  let browser: Browser;
  let page: Page;
  let dataDir: string;
  let vmId: number;

  before(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-e2e-vm-'));
    server = await startServer({ TWARGA_DATA_DIR: dataDir, TWARGA_ADMIN_PASSWORD: 'e2e-admin-password', TWARGA_ACCEL: 'tcg', TWARGA_SSH_PORTS: '23200-23299' });
    const anon = new ApiClient({ baseUrl: server.base });
    await anon.auth.register({ username: 'pilot', email: 'pilot@example.com', password: PASSWORD });
    const api = new ApiClient({ baseUrl: server.base, token: (await anon.auth.login('pilot', PASSWORD)).access_token });
    const keyDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-e2e-vmkey-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(keyDir, 'id')], { timeout: 30_000 });
    await api.account.keys.create({ name: 'laptop', public_key: readFileSync(path.join(keyDir, 'id.pub'), 'utf8') });
    rmSync(keyDir, { recursive: true, force: true });
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.base });
    page = await context.newPage();
    mkdirSync(shots, { recursive: true });
    await page.goto(`${server.base}/login`);
    await page.getByLabel(/username/i).fill('pilot');
    await page.getByLabel(/^password$/i).fill(PASSWORD);
    await page.getByRole('button', { name: /log in/i }).click();
    await page.waitForURL(/\/vms$/);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    killQemusUnder(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('launch a VM from the form and watch it become running', async () => {
    await page.getByRole('link', { name: /create your first vm|create vm/i }).first().click();
    await page.waitForURL(/\/vms\/new$/);
    await page.getByRole('radio', { name: /tiny/i }).check();
    await page.getByRole('radio', { name: /256 MB/ }).check();
    await page.getByLabel('Name', { exact: true }).fill('e2e-vm');
    await page.screenshot({ path: path.join(shots, 'create-vm-light.png'), fullPage: true });
    await page.getByRole('button', { name: 'Create VM' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Create', exact: true }).click();
    await page.waitForURL(/\/vms\/\d+$/);
    vmId = Number(page.url().split('/').pop());
    await page.getByRole('heading', { name: 'e2e-vm' }).waitFor();
    await page.getByText('running', { exact: true }).first().waitFor({ timeout: 120_000 });
  });

  test("the create action's log tells each step, down to where SSH answers", async () => {
    const toggle = page.getByRole('button', { name: /of create action/ });
    // A log opens by itself while its action runs; a fast boot may have finished before the page loaded.
    if ((await toggle.getAttribute('aria-expanded')) !== 'true') await toggle.click();
    const log = page.getByRole('list', { name: /^Log of action \d+$/ });
    await log.getByText(/Running; SSH on 127\.0\.0\.1:\d+/).waitFor();
    const lines = await log.getByRole('listitem').allTextContents();
    assert.match(lines[0]!, /Creating the instance on host local \(qemu\): 256 MB RAM, 1 vCPU/);
    assert.match(lines[1]!, /Starting$/);
    await toggle.click();
    await log.waitFor({ state: 'detached' });
    await toggle.click(); // open again for the screenshot of the VM page
    await log.waitFor();
  });

  test('copy the SSH command, and the VM answers on it', async () => {
    await page.getByRole('button', { name: 'Copy SSH command' }).click();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    const match = copied.match(/^ssh -p (\d+) root@127\.0\.0\.1$/);
    assert.ok(match, `copied: ${copied}`);
    await waitForSshBanner(Number(match[1]));
    await page.screenshot({ path: path.join(shots, 'vm-detail-light.png'), fullPage: true });
    await page.goto(`${server.base}/vms`);
    await page.getByRole('link', { name: 'e2e-vm' }).waitFor();
    await page.screenshot({ path: path.join(shots, 'vms-light.png') });
  });

  test('destroy it after typing its name', async () => {
    await page.goto(`${server.base}/vms/${vmId}`);
    await page.getByRole('button', { name: 'Destroy' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel(/type e2e-vm to confirm/i).fill('e2e-vm');
    await dialog.getByRole('button', { name: 'Destroy VM' }).click();
    const status = async () => (await page.evaluate(async (id) => (await fetch(`/api/vms/${id}`)).json(), vmId)) as { status: string };
    for (let i = 0; i < 120 && (await status()).status !== 'destroyed'; i++) await page.waitForTimeout(250);
    assert.equal((await status()).status, 'destroyed');
    await page.goto(`${server.base}/vms`);
    await page.getByText('No VMs yet').waitFor();
  });

  test('no page broke its Content-Security-Policy or threw', (t) => {
    for (const line of browserTrouble(browser)) t.diagnostic(line);
    assert.deepEqual(cspViolations(browser), []);
    assert.deepEqual(pageErrors(browser), []);
  });
});
