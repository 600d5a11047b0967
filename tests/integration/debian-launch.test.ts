import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ApiClient } from '@twarga/contract';
import { debianImageMissing, sshWhenReady } from '../../apps/server/src/test-support/debian-image.js';
import { browserTrouble, cspViolations, launchChromium, pageErrors, screenshotsDir } from '../support/browser.js';
import { killQemusUnder } from '../support/qemu.js';
import { startServer } from '../support/server.js';
import { until } from '../support/until.js';

const shots = screenshotsDir();
const PASSWORD = 'correct horse battery';
const missing = debianImageMissing();
const CLOUD_CONFIG = ['#cloud-config', 'write_files:', '  - path: /etc/motd-from-browser', '    content: pasted in the launch form', 'runcmd:', '  - touch /var/tmp/runcmd-from-browser', ''].join('\n');

/**
 * The "done means": a new user picks Debian 12 in the launch form, pastes a cloud-config,
 * logs in over SSH as `debian` with the command the page shows, and finds that their config ran.
 * A browser test that lives with the integration tests: its Debian boot takes minutes under
 * software emulation, which it spends beside the other VM tests rather than lengthening the
 * browser phase; its page steps are few and wait long.
 */
describe('browser: launch Debian 12 with a cloud-config and log in as debian', { skip: missing && !missing.fail ? missing.reason : false }, () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  let browser: Browser;
  let page: Page;
  let dataDir: string;
  let privateKey: string;
  let api: ApiClient;

  before(async () => {
    assert.equal(missing, undefined, missing?.reason);
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-e2e-debian-'));
    // auto: the server imports the image the test setup built (a valid cache is never rebuilt).
    server = await startServer({ TWARGA_DATA_DIR: dataDir, TWARGA_ADMIN_PASSWORD: 'e2e-admin-password', TWARGA_ACCEL: 'tcg', TWARGA_SSH_PORTS: '28300-28349', TWARGA_IMAGE_BUILD: 'auto' });
    const anon = new ApiClient({ baseUrl: server.base });
    await anon.auth.register({ username: 'deb', email: 'deb@example.com', password: PASSWORD });
    api = new ApiClient({ baseUrl: server.base, token: (await anon.auth.login('deb', PASSWORD)).access_token });
    const keyDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-e2e-debkey-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(keyDir, 'id')], { timeout: 30_000 });
    await api.account.keys.create({ name: 'laptop', public_key: readFileSync(path.join(keyDir, 'id.pub'), 'utf8') });
    privateKey = readFileSync(path.join(keyDir, 'id'), 'utf8');
    rmSync(keyDir, { recursive: true, force: true });
    await until('debian-12 imported', async () => ((await api.images.list()).find((i) => i.slug === 'debian-12' && i.status === 'available') ? true : undefined), 60_000);
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
    page = await context.newPage();
    mkdirSync(shots, { recursive: true });
    await page.goto(`${server.base}/login`);
    await page.getByLabel(/username/i).fill('deb');
    await page.getByLabel(/^password$/i).fill(PASSWORD);
    await page.getByRole('button', { name: /log in/i }).click();
    await page.waitForURL(/\/vms$/);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    if (dataDir) killQemusUnder(dataDir);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  test('pick Debian 12, paste a cloud-config, log in as debian: the config ran', async () => {
    await page.goto(`${server.base}/vms/new`);
    await page.getByRole('radio', { name: /built here/i }).check();
    await page.getByText('Installed for debian on the new VM.').waitFor();
    await page.getByRole('radio', { name: /^1 GB 1 vCPU/ }).check();
    await page.getByLabel('Name', { exact: true }).fill('bookworm');
    await page.getByLabel('User data').fill(CLOUD_CONFIG);
    await page.screenshot({ path: path.join(shots, 'create-debian.png'), fullPage: true });
    await page.getByRole('button', { name: 'Create VM' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Create', exact: true }).click();
    await page.waitForURL(/\/vms\/\d+$/);
    await page.getByText('running', { exact: true }).first().waitFor({ timeout: 300_000 });

    // The page gives the command a user would paste: ssh -p N debian@host.
    await page.getByText('Log in as debian with one of the SSH keys you chose at creation.').waitFor();
    const command = await page.getByText(/^ssh -p \d+ debian@127\.0\.0\.1$/).first().textContent();
    const port = Number(/-p (\d+)/.exec(command ?? '')![1]);
    const out = await sshWhenReady({
      host: '127.0.0.1', port, username: 'debian', privateKey, timeoutMs: 300_000,
      command: 'cloud-init status --wait >/dev/null; whoami; hostname; cat /etc/motd-from-browser; echo; ls /var/tmp/runcmd-from-browser',
    });
    assert.deepEqual(out.trim().split('\n'), ['debian', 'bookworm', 'pasted in the launch form', '/var/tmp/runcmd-from-browser']);
    await page.screenshot({ path: path.join(shots, 'vm-debian.png'), fullPage: true });
    const vmId = Number(page.url().split('/').pop());
    await api.vms.action(vmId, { action: 'destroy' });
    await until('destroyed', async () => ((await api.vms.get(vmId)).status === 'destroyed' ? true : undefined), 120_000);
  });

  test('no page broke its Content-Security-Policy or threw', (t) => {
    for (const line of browserTrouble(browser)) t.diagnostic(line);
    assert.deepEqual(cspViolations(browser), []);
    assert.deepEqual(pageErrors(browser), []);
  });
});
