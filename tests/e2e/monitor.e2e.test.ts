import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import { ApiClient, type Vm } from '@twarga/contract';
import { browserTrouble, cspViolations, launchChromium, pageErrors, screenshotsDir } from '../support/browser.js';
import { killQemusUnder } from '../support/qemu.js';
import { startServer } from '../support/server.js';
import { until } from '../support/until.js';

const shots = screenshotsDir();
const PASSWORD = 'correct horse battery';
const ADMIN_PASSWORD = 'e2e-admin-password';
/** The collector samples every second here, so a chart gains points within a few seconds. */
const INTERVAL_SECONDS = 1;

/** A loopback webhook receiver that keeps what it got. */
async function startReceiver() {
  const got: { headers: Record<string, string | string[] | undefined>; body: Buffer }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { got, url: `http://127.0.0.1:${port}/hook`, close: () => new Promise((r) => server.close(r)) };
}

/** The Monitor page, the VM page's metrics, alert policies and notification channels against a real tiny VM. */
describe('browser: live monitoring', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let browser: Browser;
  let page: Page;
  let adminPage: Page;
  let api: ApiClient;
  let dataDir: string;
  let vm: Vm;

  /** Points a chart holds (uPlot's data length, exposed by the chart wrapper). */
  const points = async (chart: Locator) => Number((await chart.getAttribute('data-points')) ?? '0');
  /** The chart gains points while the page stays the same document (no reload, no refetch of the history). */
  async function assertGrowsLive(p: Page, chart: Locator, what: string) {
    await chart.waitFor({ timeout: 30_000 });
    await until(`${what}: first points`, async () => ((await points(chart)) > 0 ? true : undefined), 60_000);
    // Let the events stream's first open (which reloads what it keeps fresh) pass first.
    await p.waitForTimeout(1_000);
    const first = await points(chart);
    await p.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));
    const historyLoads: string[] = [];
    const onRequest = (r: { url(): string }) => {
      if (r.url().includes('/history')) historyLoads.push(r.url());
    };
    p.on('request', onRequest);
    try {
      const later = await until(`${what}: more points`, async () => {
        const n = await points(chart);
        return n >= first + 2 ? n : undefined;
      }, 30_000);
      assert.ok(later >= first + 2, `${what}: ${first} → ${later} points`);
      assert.equal(await p.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument), true, 'no reload');
      assert.deepEqual(historyLoads, [], 'the points came from pushed samples, not from loading the history again');
    } finally {
      p.off('request', onRequest);
    }
  }

  async function login(p: Page, username: string, password: string) {
    await p.goto(`${server.base}/login`);
    await p.getByLabel(/username/i).fill(username);
    await p.getByLabel(/^password$/i).fill(password);
    await p.getByRole('button', { name: /log in/i }).click();
    await p.waitForURL(/\/vms$/);
  }

  before(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-e2e-monitor-'));
    receiver = await startReceiver();
    server = await startServer({
      TWARGA_DATA_DIR: dataDir, TWARGA_ADMIN_PASSWORD: ADMIN_PASSWORD, TWARGA_ACCEL: 'tcg', TWARGA_SSH_PORTS: '23800-23809',
      TWARGA_METRICS_INTERVAL_SECONDS: String(INTERVAL_SECONDS),
      // The test's own webhook receiver listens on loopback, which webhooks may not reach by default.
      TWARGA_WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
    });
    const anon = new ApiClient({ baseUrl: server.base });
    await anon.auth.register({ username: 'watcher', email: 'watcher@example.com', password: PASSWORD });
    api = new ApiClient({ baseUrl: server.base, token: (await anon.auth.login('watcher', PASSWORD)).access_token });
    const created = await api.vms.create({ name: 'e2e-metrics', image: 'tiny', size: 's-1vcpu-256mb' });
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.base });
    page = await context.newPage();
    // The admin looks in dark mode: the charts read the theme's colours.
    adminPage = await (await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'dark' })).newPage();
    mkdirSync(shots, { recursive: true });
    await login(page, 'watcher', PASSWORD);
    await login(adminPage, 'admin', ADMIN_PASSWORD);
    vm = await until('VM running', async () => {
      const v = await api.vms.get(created.id);
      if (v.status === 'error') throw new Error(`VM error: ${v.error}`);
      return v.status === 'running' && !v.locked ? v : undefined;
    }, 180_000);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    await receiver?.close();
    killQemusUnder(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("the VM page's metrics: charts grow live from the events stream, with units and the agent's figures", async () => {
    await page.goto(`${server.base}/vms/${vm.id}`);
    const section = page.locator('section', { has: page.getByRole('heading', { name: 'Metrics', exact: true }) });
    await assertGrowsLive(page, section.getByTestId('chart-vm-cpu'), 'VM CPU chart');
    // Memory keeps guest (balloon) and host RSS apart, each named.
    const legend = section.getByTestId('chart-vm-memory');
    for (const name of ['Guest used (balloon, inside the VM)', 'Host RSS (QEMU process)']) await legend.getByText(name).first().waitFor();
    const now = section.getByTestId('vm-metrics-now');
    await until('a CPU figure in percent', async () => (/\d %/.test(await now.getByText(/^CPU$/).locator('..').innerText()) ? true : undefined), 30_000);
    await until('host RSS in binary units', async () => (/\d+(\.\d)? (KiB|MiB|GiB)/.test(await now.innerText()) ? true : undefined), 30_000);
    // The range selector loads rollup history for longer ranges.
    await section.getByRole('radio', { name: '24h' }).check();
    await section.getByText(/one point per 120 s/).waitFor({ timeout: 15_000 });
    await section.getByRole('radio', { name: '1h' }).check();
    await section.scrollIntoViewIfNeeded();
    await page.waitForTimeout(300);
    await section.screenshot({ path: path.join(shots, 'vm-metrics.png') });
  });

  test('the Monitor page: a card per VM with live sparklines, and the alerts list', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Monitor' }).click();
    await page.waitForURL(/\/monitor$/);
    const card = page.getByTestId(`vm-card-${vm.id}`);
    await card.getByRole('link', { name: 'e2e-metrics' }).waitFor();
    await assertGrowsLive(page, card.getByTestId(`spark-cpu-${vm.id}`), 'VM card CPU sparkline');
    await page.getByRole('heading', { name: 'Alerts' }).waitFor();
    assert.equal(await page.getByRole('heading', { name: 'Host' }).count(), 0, 'no host overview for a user');
    await page.screenshot({ path: path.join(shots, 'monitor.png'), fullPage: true });
  });

  test("an admin sees the host: current figures, per-core CPU, and charts that grow live (dark mode)", async () => {
    await adminPage.goto(`${server.base}/monitor`);
    const host = adminPage.locator('section', { has: adminPage.getByRole('heading', { name: 'Host', exact: true }) });
    await host.getByTestId('host-now').waitFor({ timeout: 30_000 });
    assert.ok((await host.getByTestId('host-cores').getByRole('meter').count()) >= 1, 'a gauge per core');
    await assertGrowsLive(adminPage, host.getByTestId('chart-host-cpu'), 'host CPU chart');
    await adminPage.waitForTimeout(300);
    await adminPage.screenshot({ path: path.join(shots, 'monitor-host-dark.png'), fullPage: true });
  });

  test('a notification channel made in the UI: the secret shown once, and a signed test delivery', async () => {
    await page.goto(`${server.base}/monitor/channels`);
    await page.getByRole('button', { name: 'New channel' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name').fill('ops-hook');
    await dialog.getByLabel('Webhook URL').fill(receiver.url);
    await dialog.getByRole('button', { name: 'Create channel' }).click();
    const secret = (await page.getByTestId('webhook-secret').innerText()).trim();
    assert.match(secret, /^\S{20,}$/);
    await page.screenshot({ path: path.join(shots, 'notification-channel-secret.png') });
    await page.getByRole('button', { name: 'Done' }).click();
    assert.equal(await page.getByTestId('webhook-secret').count(), 0, 'the secret is gone once dismissed');

    await page.getByRole('button', { name: 'Send test to ops-hook' }).click();
    await page.getByTestId('test-delivery').getByText('delivered').waitFor({ timeout: 30_000 });
    // The receiver got it, signed with the secret the page showed.
    const hit = receiver.got.at(-1);
    assert.ok(hit, 'the webhook was called');
    assert.equal(hit.headers['x-twarga-signature'], `sha256=${createHmac('sha256', secret).update(hit.body).digest('hex')}`);
    await page.getByTestId('deliveries-table').getByText('Test notification from Twarga Cloud').first().waitFor();
    await page.screenshot({ path: path.join(shots, 'notification-channels.png'), fullPage: true });
  });

  test('an alert policy made in the UI for one VM, sent to that channel', async () => {
    await page.goto(`${server.base}/monitor/policies`);
    await page.getByRole('button', { name: 'New policy' }).click();
    const dialog = page.getByRole('dialog');
    assert.equal(await dialog.getByLabel('Watch').locator('option[value="host"]').count(), 0, 'host policies are for admins');
    await dialog.getByLabel('Metric').selectOption('cpu_percent');
    await dialog.getByLabel('Condition').selectOption('GreaterThan');
    await dialog.getByLabel('Value').fill('75');
    await dialog.getByLabel('For at least').selectOption('10m');
    await dialog.getByRole('group', { name: 'VMs' }).getByRole('radio', { name: 'Only these' }).check();
    await dialog.getByRole('checkbox', { name: 'e2e-metrics' }).check();
    await dialog.getByRole('group', { name: 'Notify' }).getByRole('radio', { name: 'Only these' }).check();
    await dialog.getByRole('checkbox', { name: /ops-hook/ }).check();
    await page.screenshot({ path: path.join(shots, 'alert-policy-form.png') });
    await dialog.getByRole('button', { name: 'Create policy' }).click();
    await page.getByTestId('policies-table').getByRole('cell', { name: 'CPU > 75 % for 10m', exact: true }).waitFor();
    const [policy] = await api.alerts.policies.list();
    const channels = await api.notifications.channels.list();
    assert.ok(policy);
    assert.deepEqual(
      { entity: policy.entity, metric: policy.metric, compare: policy.compare, value: policy.value, window: policy.window, vm_ids: policy.vm_ids, channel_ids: policy.channel_ids },
      { entity: 'vm', metric: 'cpu_percent', compare: 'GreaterThan', value: 75, window: '10m', vm_ids: [vm.id], channel_ids: [channels.find((c) => c.name === 'ops-hook')!.id] },
    );
    // Disabling it from the list sticks.
    // A click, not uncheck(): the box flips once React has applied the optimistic change, a moment
    // after the click, and uncheck() reads it back at once.
    const enabled = page.getByRole('checkbox', { name: 'Enabled: CPU > 75 % for 10m' });
    await enabled.click();
    await until('the box unticked', async () => ((await enabled.isChecked()) ? undefined : true), 10_000);
    await until('policy disabled', async () => ((await api.alerts.policies.get(policy.id)).enabled === false ? true : undefined), 10_000);
    await page.screenshot({ path: path.join(shots, 'alert-policies.png'), fullPage: true });
  });

  test('no page broke its Content-Security-Policy or threw', (t) => {
    for (const line of browserTrouble(browser)) t.diagnostic(line);
    assert.deepEqual(cspViolations(browser), []);
    assert.deepEqual(pageErrors(browser), []);
  });
});
