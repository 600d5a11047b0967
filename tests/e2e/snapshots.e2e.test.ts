import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ApiClient, type Vm } from '@twarga/contract';
import { sshExec, waitForSshBanner } from '../../apps/server/src/test-support/ssh.js';
import { browserTrouble, cspViolations, launchChromium, pageErrors, screenshotsDir } from '../support/browser.js';
import { killQemusUnder } from '../support/qemu.js';
import { startServer } from '../support/server.js';
import { until } from '../support/until.js';

const shots = screenshotsDir();
const PASSWORD = 'correct horse battery';

/**
 * A user rolls a real (software-emulated) tiny VM back from the browser: takes a snapshot, changes a
 * file on the disk, restores the snapshot in one click and finds the file gone; resizes the stopped
 * VM; and meets the rebuild dialog's typed confirmation.
 */
describe('browser: snapshots, restore, resize and rebuild of a VM', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  let browser: Browser;
  let page: Page;
  let api: ApiClient;
  let dataDir: string;
  let privateKey: string;
  let vm: Vm;

  const fresh = () => api.vms.get(vm.id);
  /** Runs a command in the guest once SSH answers (the VM may just have booted). */
  const ssh = async (command: string) => {
    const port = (await until('an SSH port', async () => (await fresh()).ssh_port ?? undefined))!;
    await waitForSshBanner(port, 120_000);
    return (await sshExec({ port, privateKey, command, timeoutMs: 60_000 })).trim();
  };
  /** The newest action of a type, once it is no longer in progress. */
  const settled = (type: string) =>
    until(`the ${type} action to finish`, async () => {
      const a = (await api.vms.actions(vm.id)).find((x) => x.type === type);
      return a && a.status !== 'in-progress' ? a : undefined;
    });

  before(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-e2e-snap-'));
    server = await startServer({ TWARGA_DATA_DIR: dataDir, TWARGA_ADMIN_PASSWORD: 'e2e-admin-password', TWARGA_ACCEL: 'tcg', TWARGA_SSH_PORTS: '23890-23899' });
    const anon = new ApiClient({ baseUrl: server.base });
    await anon.auth.register({ username: 'keeper', email: 'keeper@example.com', password: PASSWORD });
    api = new ApiClient({ baseUrl: server.base, token: (await anon.auth.login('keeper', PASSWORD)).access_token });
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dataDir, 'id')], { timeout: 30_000 });
    privateKey = readFileSync(path.join(dataDir, 'id'), 'utf8');
    const key = await api.account.keys.create({ name: 'laptop', public_key: readFileSync(path.join(dataDir, 'id.pub'), 'utf8') });
    // The create form has its own browser test (vms.e2e): this VM comes from the API.
    vm = await api.vms.create({ name: 'keeper-vm', image: 'tiny', size: 's-1vcpu-256mb', ssh_keys: [key.id] });
    await until('the VM to run', async () => ((await fresh()).status === 'running' ? true : undefined));
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
    page = await context.newPage();
    await page.goto(`${server.base}/login`);
    await page.getByLabel(/username/i).fill('keeper');
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

  test('take a snapshot of the running VM and see it listed with its size and price', async () => {
    await ssh('echo before > /data/marker && sync');
    await page.goto(`${server.base}/vms/${vm.id}`);
    await page.getByRole('navigation', { name: 'VM sections' }).getByRole('link', { name: 'Snapshots' }).click();
    await page.waitForURL(/\/vms\/\d+\/snapshots$/);
    await page.getByText('No snapshots of this VM yet').waitFor();
    await page.getByRole('button', { name: 'Take snapshot' }).click();
    const dialog = page.getByRole('dialog');
    // RAM can be included only because the VM runs; this test keeps the snapshot to the disk.
    assert.equal(await dialog.getByLabel('Include RAM').isEnabled(), true);
    await dialog.getByLabel('Name').fill('before-change');
    await dialog.getByRole('button', { name: 'Take snapshot' }).click();
    await dialog.waitFor({ state: 'detached' });
    const row = page.getByRole('row', { name: /before-change/ });
    await row.getByText('available', { exact: true }).waitFor({ timeout: 120_000 });
    const cells = await row.getByRole('cell').allTextContents();
    // Size: bytes on the host and the billed GB; a disk copy made with the guest's filesystems frozen; a price per month.
    assert.ok(cells.some((c) => /^\d+(\.\d)? (B|KiB|MiB|GiB)\d+ GB billed$/.test(c)), cells.join(' | '));
    assert.ok(cells.includes('Diskquiesced'), cells.join(' | '));
    assert.ok(cells.some((c) => /credits?\/month$/.test(c)), cells.join(' | '));
    assert.match(await page.getByTestId('snapshot-quota').textContent() ?? '', /^1 \/ \d+ snapshots used/);
    const listed = (await api.vms.snapshots(vm.id)).snapshots[0]!;
    assert.equal(listed.name, 'before-change');
    assert.ok(listed.size_bytes > 0);
    await page.screenshot({ path: path.join(shots, 'vm-snapshots-light.png'), fullPage: true });
    // Resize and rebuild wait for a stopped VM, and say so.
    for (const name of ['Resize', 'Rebuild']) {
      const button = page.getByRole('button', { name, exact: true });
      assert.equal(await button.isDisabled(), true, name);
      assert.match((await button.locator('xpath=..').getAttribute('title')) ?? '', /Stop the VM first/, name);
    }
  });

  test('change the disk, then restore the snapshot in one click', async () => {
    await ssh('echo after > /data/marker && sync');
    await page.getByRole('button', { name: 'Restore before-change' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText(/current disk is replaced/).waitFor();
    await dialog.getByText(/powered off first/).waitFor();
    await dialog.getByRole('button', { name: 'Restore', exact: true }).click();
    await dialog.waitFor({ state: 'detached' });
    // The action shows up under Actions with its log, opened while it runs.
    await page.getByRole('button', { name: /of restore action/ }).waitFor();
    const restore = await settled('restore');
    assert.equal(restore.status, 'completed', restore.error ?? '');
    await page.getByRole('button', { name: /of restore action/ }).locator('xpath=ancestor::tr').getByText('completed').waitFor();
    // A disk snapshot holds no running state: the VM is stopped after it (it boots in the last test, to save a boot).
    await until('the VM to stop', async () => ((await fresh()).status === 'stopped' ? true : undefined));
  });

  test('the stopped VM is resized: a bigger size, its price from the next hour, the new size shown', async () => {
    await page.goto(`${server.base}/vms/${vm.id}`);
    await page.getByText('stopped', { exact: true }).first().waitFor();
    await page.getByRole('button', { name: 'Resize', exact: true }).click();
    const dialog = page.getByRole('dialog');
    // A smaller disk than the VM's is no choice; the bigger size shows its price from the next hour.
    await dialog.getByRole('radio', { name: /512 MB/ }).check();
    await dialog.getByText(/2 credits\/hour \(now 1 credit\/hour\), charged from the next hour/).waitFor();
    assert.equal(await dialog.getByRole('spinbutton').count(), 0);
    await page.screenshot({ path: path.join(shots, 'vm-resize-light.png') });
    await dialog.getByRole('button', { name: 'Resize VM' }).click();
    await dialog.waitFor({ state: 'detached' });
    const done = await settled('resize');
    assert.equal(done.status, 'completed', done.error ?? '');
    const resized = await fresh();
    assert.deepEqual([resized.ram, resized.cpu, resized.disk, resized.size], [512, 1, 2, 's-1vcpu-512mb']);
    await page.getByText('512 MB / 1 vCPU / 2 GB').waitFor();
    await page.getByText('2 credits/hour').first().waitFor();
  });

  test('the rebuild button stays disabled until the VM name is typed', async () => {
    await page.getByRole('button', { name: 'Rebuild', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText(/disk, \/data included, starts empty/).waitFor();
    await dialog.getByText(/id, name, SSH port and SSH keys are kept/).waitFor();
    assert.equal(await dialog.getByLabel('Image').inputValue(), 'tiny');
    const go = dialog.getByRole('button', { name: 'Rebuild VM' });
    assert.equal(await go.isDisabled(), true);
    await dialog.getByLabel('Type keeper-vm to confirm').fill('keeper-v');
    assert.equal(await go.isDisabled(), true);
    await dialog.getByLabel('Type keeper-vm to confirm').fill('keeper-vm');
    assert.equal(await go.isEnabled(), true);
    await page.screenshot({ path: path.join(shots, 'vm-rebuild-light.png') });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.equal((await api.vms.actions(vm.id)).some((a) => a.type === 'rebuild'), false);
  });

  test('booted again, the guest has the snapshot disk back (the change is gone) and the grown disk', async () => {
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await until('the VM to run', async () => ((await fresh()).status === 'running' ? true : undefined));
    assert.equal(await ssh('cat /data/marker'), 'before');
    assert.equal(Number(await ssh('cat /sys/block/vda/size')) * 512, 2 * 1024 ** 3);
  });

  test('a new VM from the snapshot: its New VM link opens the create form on it, and the VM is created from it', async () => {
    await page.goto(`${server.base}/vms/${vm.id}/snapshots`);
    await page.getByRole('link', { name: 'New VM from before-change' }).click();
    await page.waitForURL(/\/vms\/new\?snapshot=\d+$/);
    assert.equal(await page.getByRole('radio', { name: /before-change/ }).isChecked(), true);
    assert.equal(await page.getByRole('radio', { name: 'From a snapshot' }).isChecked(), true);
    await page.screenshot({ path: path.join(shots, 'create-from-snapshot-light.png'), fullPage: true });
    await page.getByLabel('Name', { exact: true }).fill('keeper-clone');
    await page.getByRole('button', { name: 'Create VM' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText(/^before-change \(of keeper-vm, tiny\)$/).waitFor();
    const created = page.waitForResponse((r) => r.url().endsWith('/api/vms') && r.request().method() === 'POST');
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    const response = await created;
    assert.equal(response.status(), 201);
    assert.deepEqual(JSON.parse(response.request().postData() ?? '{}'), { name: 'keeper-clone', snapshot_id: (await api.vms.snapshots(vm.id)).snapshots[0]!.id, ssh_keys: [(await api.account.keys.list())[0]!.id], size: 's-1vcpu-256mb' });
    await page.waitForURL(/\/vms\/\d+$/);
    await page.getByRole('heading', { name: 'keeper-clone' }).waitFor();
    // Its boot is not awaited here (the server tests cover the clone's new identity): the teardown stops it.
  });

  test('no page broke its Content-Security-Policy or threw', (t) => {
    for (const line of browserTrouble(browser)) t.diagnostic(line);
    assert.deepEqual(cspViolations(browser), []);
    assert.deepEqual(pageErrors(browser), []);
  });
});
