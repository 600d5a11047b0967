import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import { ApiClient, type Vm } from '@twarga/contract';
import { waitForSshBanner } from '../../apps/server/src/test-support/ssh.js';
import { browserTrouble, cspViolations, launchChromium, pageErrors, screenshotsDir } from '../support/browser.js';
import { killQemusUnder } from '../support/qemu.js';
import { startServer } from '../support/server.js';
import { until } from '../support/until.js';

const shots = screenshotsDir();
const PASSWORD = 'correct horse battery';

/** The browser terminal against a real tiny VM: serial console, SSH, copy/paste, resize, replay. */
describe('browser: terminal to a real VM', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  let browser: Browser;
  let page: Page;
  let api: ApiClient;
  let dataDir: string;
  let vm: Vm;
  const marker = randomBytes(4).toString('hex');

  const screen = () => page.getByTestId('terminal').locator('.xterm-rows');
  const status = () => page.getByTestId('terminal-status');
  /** What xterm shows (its visible rows, one line each). */
  const screenText = async () => (await screen().innerText()).replace(/\u00a0/g, ' ');
  /** Polls the visible rows until `re` matches; returns the match. */
  const waitForScreen = (what: string, re: RegExp, timeoutMs = 30_000) =>
    until(what, async () => re.exec(await screenText())?.[0], timeoutMs).catch(async (err: Error) => {
      throw new Error(`${err.message}; the terminal shows:\n${await screenText()}`);
    });
  const typeLine = async (text: string) => {
    await page.keyboard.type(text);
    await page.keyboard.press('Enter');
  };

  before(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-e2e-term-'));
    server = await startServer({ TWARGA_DATA_DIR: dataDir, TWARGA_ADMIN_PASSWORD: 'e2e-admin-password', TWARGA_ACCEL: 'tcg', TWARGA_SSH_PORTS: '23600-23649' });
    const anon = new ApiClient({ baseUrl: server.base });
    await anon.auth.register({ username: 'operator', email: 'operator@example.com', password: PASSWORD });
    api = new ApiClient({ baseUrl: server.base, token: (await anon.auth.login('operator', PASSWORD)).access_token });
    // Through the API: faster than the form, which vms.e2e.test.ts covers.
    const created = await api.vms.create({ name: 'e2e-term', image: 'tiny', size: 's-1vcpu-256mb' });
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.base });
    page = await context.newPage();
    mkdirSync(shots, { recursive: true });
    await page.goto(`${server.base}/login`);
    await page.getByLabel(/username/i).fill('operator');
    await page.getByLabel(/^password$/i).fill(PASSWORD);
    await page.getByRole('button', { name: /log in/i }).click();
    await page.waitForURL(/\/vms$/);
    vm = await until('VM running', async () => {
      const v = await api.vms.get(created.id);
      if (v.status === 'error') throw new Error(`VM error: ${v.error}`);
      return v.status === 'running' && !v.locked ? v : undefined;
    });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    killQemusUnder(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('serial console: boot log, then a command typed into xterm runs in the guest', async () => {
    await page.goto(`${server.base}/vms/${vm.id}/console?kind=serial`);
    await status().getByText(/Connected · Serial console · session #\d+/).waitFor({ timeout: 30_000 });
    await page.getByTestId('terminal').click();
    // The tiny image's console shell prints its prompt once Enter is pressed.
    await until(
      'the serial prompt',
      async () => {
        await page.keyboard.press('Enter');
        await page.waitForTimeout(500);
        return /^\/ # *$/m.test(await screenText()) ? true : undefined;
      },
      60_000,
    );
    await typeLine(`echo hello-${marker}`);
    await waitForScreen('the echo output', new RegExp(`^hello-${marker} *$`, 'm'));
    // Replayed scrollback is display-only: xterm's answers to old queries in it (cursor position) are not typed into the VM.
    assert.doesNotMatch(await screenText(), /\^\[\[\d+;\d+R/);
    await page.screenshot({ path: path.join(shots, 'terminal.png') });
  });

  test('SSH: a shell as the VM user, fitted to the window, with copy and paste', async () => {
    await waitForSshBanner(vm.ssh_port!, 120_000);
    // click, not check(): check() reads the state back at once, and the switch re-renders only once
    // the URL has changed (a full run once saw "did not change its state" under load).
    const ssh = page.getByRole('radio', { name: 'SSH' });
    await ssh.click();
    await page.waitForURL(/kind=ssh/);
    assert.equal(await ssh.isChecked(), true, 'the switch shows SSH');
    await status().getByText(/Connected · SSH/).waitFor({ timeout: 30_000 });
    await page.getByTestId('terminal').click();
    await typeLine('uname -a');
    await waitForScreen('uname output', /^Linux e2e-term .*$/m);

    // The PTY has the size xterm fitted to the window, and follows when the window changes.
    const rows = () => page.getByTestId('terminal').locator('.xterm-rows > div').count();
    await typeLine('stty size');
    const fitted = await rows();
    await waitForScreen('stty size', new RegExp(`^${fitted} \\d+ *$`, 'm'));
    await page.setViewportSize({ width: 1000, height: 600 });
    await until('xterm refits to the smaller window', async () => ((await rows()) < fitted ? true : undefined), 10_000);
    await typeLine('stty size');
    await waitForScreen('stty size after the resize', new RegExp(`^${await rows()} \\d+ *$`, 'm'));
    await page.setViewportSize({ width: 1280, height: 800 });

    // Copy: a double-clicked word (xterm selection) → Copy button → clipboard.
    await typeLine(`echo copy${marker}`);
    const line = screen().locator('div', { hasText: new RegExp(`^copy${marker}\\s*$`) });
    // Rows ignore the pointer (xterm's screen layer takes it): double-click at the row's place.
    const box = await line.boundingBox();
    assert.ok(box);
    await page.mouse.dblclick(box.x + 12, box.y + box.height / 2);
    await page.getByRole('button', { name: 'Copy', exact: true }).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `copy${marker}`);
    // Paste: clipboard → Paste button → typed into the shell.
    await page.evaluate((text) => navigator.clipboard.writeText(text), `echo pasted-${marker}`);
    await page.getByRole('button', { name: 'Paste', exact: true }).click();
    await waitForScreen('the pasted command', new RegExp(`# echo pasted-${marker} *$`, 'm'));
    await page.keyboard.press('Enter');
    await waitForScreen('the pasted command ran', new RegExp(`^pasted-${marker} *$`, 'm'));
  });

  test('leaving ends the sessions; the recording replays in the browser', async () => {
    await page.goto(`${server.base}/vms/${vm.id}`);
    const section = page.locator('section', { has: page.getByRole('heading', { name: 'Terminal sessions' }) });
    const serialRow: Locator = section.getByRole('row').filter({ hasText: 'Serial' }).first();
    await serialRow.getByRole('button', { name: /^Replay/ }).waitFor({ timeout: 15_000 });
    // The SSH session ended with the page; its row stops saying Live.
    await section.getByRole('row').filter({ hasText: 'SSH' }).first().getByRole('button', { name: /^Replay/ }).waitFor({ timeout: 15_000 });
    assert.equal(await section.getByText('Live', { exact: true }).count(), 0);
    const sessions = await api.terminal.forVm(vm.id);
    assert.equal(sessions.active.length, 0);
    assert.ok(sessions.recent.some((s) => s.kind === 'serial' && s.end_reason === 'closed' && s.username === 'operator'));

    await serialRow.getByRole('button', { name: /^Replay/ }).click();
    const dialog = page.getByRole('dialog');
    await dialog.locator('.ap-player').waitFor({ timeout: 15_000 });
    // Long pauses are cut to a second, so the recording reaches the command within seconds.
    await until('the command in the replay', async () => ((await dialog.locator('.ap-term').innerText()).includes(`hello-${marker}`) ? true : undefined), 30_000);
    await page.waitForTimeout(500);
    await page.screenshot({ path: path.join(shots, 'terminal-replay.png') });
    const download = dialog.getByRole('link', { name: /download \.cast/i });
    assert.match((await download.getAttribute('href')) ?? '', /^\/api\/terminal\/recordings\/\d+$/);
    await dialog.getByRole('button', { name: 'Close' }).click();
  });

  test('a stopped VM has no console, and says how to get one', async () => {
    await api.vms.action(vm.id, { action: 'stop', force: true });
    await page.goto(`${server.base}/vms/${vm.id}/console?kind=serial`);
    await page.getByText('VM is stopped — start it to use the console.').waitFor({ timeout: 60_000 });
    assert.equal((await api.terminal.forVm(vm.id)).active.length, 0);
    await api.vms.action(vm.id, { action: 'destroy' });
    await until('VM destroyed', async () => ((await api.vms.get(vm.id)).status === 'destroyed' ? true : undefined), 60_000);
  });

  test('no page broke its Content-Security-Policy or threw', (t) => {
    for (const line of browserTrouble(browser)) t.diagnostic(line);
    assert.deepEqual(cspViolations(browser), []);
    assert.deepEqual(pageErrors(browser), []);
  });
});
