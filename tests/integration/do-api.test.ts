import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApiClient } from '@twarga/contract';
import { createApiClient } from 'dots-wrapper';
import { sshExec, waitForSshBanner } from '../../apps/server/src/test-support/ssh.js';
import { killQemusUnder } from '../support/qemu.js';
import { startServer } from '../support/server.js';
import { until } from '../support/until.js';

type Dots = ReturnType<typeof createApiClient>;

/** A process that exists and is not a zombie waiting to be reaped. */
function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

/** An axios error's HTTP status and body (dots-wrapper rejects non-2xx answers). */
async function failure(p: Promise<unknown>): Promise<{ status: number; body: { id: string; message: string; request_id: string } }> {
  try {
    await p;
  } catch (err) {
    const res = (err as { response?: { status: number; data: { id: string; message: string; request_id: string } } }).response;
    if (res) return { status: res.status, body: res.data };
    throw err;
  }
  throw new Error('the request succeeded');
}

/**
 * The flow with an unchanged DigitalOcean client library (dots-wrapper), pointed at the
 * real server's /v2, booting one real tiny VM under QEMU: the catalog, a key, a droplet with that
 * key and user data, its create action to completed, its IPv4 address (SSH with the key proves
 * both), power off and on, and its deletion.
 */
describe('DigitalOcean client (dots-wrapper) against /v2 with real QEMU', () => {
  let dataDir: string;
  let keyDir: string;
  let server: Awaited<ReturnType<typeof startServer>>;
  let dots: Dots;
  let privateKey: string;
  let publicKey: string;

  before(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-do-api-'));
    keyDir = mkdtempSync(path.join(os.tmpdir(), 'twarga-do-key-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'do-client', '-f', path.join(keyDir, 'id')]);
    privateKey = readFileSync(path.join(keyDir, 'id'), 'utf8');
    publicKey = readFileSync(path.join(keyDir, 'id.pub'), 'utf8').trim();
    server = await startServer({
      TWARGA_DATA_DIR: dataDir, TWARGA_ADMIN_PASSWORD: 'do-admin-pw', TWARGA_ACCEL: 'tcg', TWARGA_RECONCILE_SECONDS: '1', TWARGA_SSH_PORTS: '27600-27649',
      ...(process.env.TWARGA_TINY_IMAGE_DIR ? { TWARGA_TINY_IMAGE_DIR: process.env.TWARGA_TINY_IMAGE_DIR } : {}),
    });
    const anon = new ApiClient({ baseUrl: server.base });
    await anon.auth.register({ username: 'douser', email: 'douser@example.com', password: 'correct horse battery' });
    const session = new ApiClient({ baseUrl: server.base, token: (await anon.auth.login('douser', 'correct horse battery')).access_token });
    // A DO user's credential is a personal API token.
    const { token } = await session.account.tokens.create({ name: 'dots', scope: 'read-write' });
    dots = createApiClient({ endpoint: `${server.base}/v2`, token, requestTimeoutInMs: 30_000 });
  });
  after(async () => {
    await server?.stop();
    killQemusUnder(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(keyDir, { recursive: true, force: true });
  });

  const completed = (actionId: number) =>
    until(`action ${actionId} completed`, async () => {
      const { data } = await dots.action.getAction({ action_id: actionId });
      if (data.action.status === 'errored') throw new Error(`action ${actionId} (${data.action.type}) errored`);
      return data.action.status === 'completed' ? data.action : undefined;
    }, 240_000);

  let keyFingerprint: string;
  let dropletId: number;

  test('1. sizes, images and regions list what a droplet can be made of', async () => {
    const sizes = (await dots.size.listSizes({ per_page: 200 })).data.sizes;
    assert.ok(sizes.some((s) => s.slug === 's-1vcpu-256mb' && s.memory === 256 && s.vcpus === 1), JSON.stringify(sizes.map((s) => s.slug)));
    const images = (await dots.image.listImages({ type: 'distribution', per_page: 200 })).data.images;
    const tiny = images.find((i) => i.slug === 'tiny');
    assert.ok(tiny, JSON.stringify(images.map((i) => i.slug)));
    assert.equal(typeof tiny.id, 'number');
    const regions = (await dots.region.listRegions({})).data.regions;
    const local = regions.find((r) => r.slug === 'local');
    assert.ok(local?.available, JSON.stringify(regions));
    assert.ok(local.sizes.includes('s-1vcpu-256mb'));
  });

  test('2. a key is added', async () => {
    const { data } = await dots.sshKey.createSshKey({ name: 'laptop', public_key: publicKey });
    assert.equal(data.ssh_key.name, 'laptop');
    assert.match(data.ssh_key.fingerprint, /^([0-9a-f]{2}:){15}[0-9a-f]{2}$/, 'DO fingerprints are MD5 colon hex');
    keyFingerprint = data.ssh_key.fingerprint;
  });

  test('3–5. a droplet made with the key and user data boots; its create action completes; its IPv4 address and port reach it with the key', async () => {
    const res = await dots.droplet.createDroplet({
      name: 'do-1', region: 'nyc3', size: 's-1vcpu-256mb', image: 'tiny', ssh_keys: [keyFingerprint], tags: ['do-test'],
      user_data: '#!/bin/sh\necho made-by-dots > /root/user-data-ran\n', backups: false, ipv6: false, monitoring: false,
    });
    assert.equal(res.status, 202);
    const { droplet } = res.data;
    const links = (res.data as unknown as { links: { actions: { id: number; rel: string; href: string }[] } }).links;
    assert.equal(droplet.name, 'do-1');
    assert.equal(droplet.status, 'new');
    assert.ok(droplet.image && droplet.region && droplet.size, 'image, region and size are always there');
    assert.equal(links.actions[0]!.rel, 'create');
    dropletId = droplet.id;

    const action = await completed(links.actions[0]!.id);
    assert.equal(action.type, 'create');
    assert.equal(action.resource_id, dropletId);

    const { data } = await dots.droplet.getDroplet({ droplet_id: dropletId });
    assert.equal(data.droplet.status, 'active');
    assert.deepEqual(data.droplet.tags, ['do-test']);
    const ipv4 = data.droplet.networks.v4.find((n) => n.type === 'public')?.ip_address;
    assert.equal(ipv4, '127.0.0.1');
    const sshPort = (data.droplet as unknown as { ssh_port: number }).ssh_port;
    assert.ok(sshPort >= 27600 && sshPort <= 27649, `ssh_port ${sshPort}`);
    await waitForSshBanner(sshPort, 180_000, ipv4);
    const out = await until('user data ran', async () => {
      const text = await sshExec({ host: ipv4, port: sshPort, privateKey, command: 'cat /root/user-data-ran 2>/dev/null; hostname', readyTimeoutMs: 120_000 });
      return text.includes('made-by-dots') ? text : undefined;
    }, 120_000);
    assert.match(out, /made-by-dots\s+do-1/);
  });

  test('6. power_off, then power_on', async () => {
    const qemuPid = Number(readFileSync(path.join(dataDir, 'vms', `vm-${dropletId}`, 'qemu.pid'), 'utf8').trim());
    const off = await dots.droplet.powerOffDroplet({ droplet_id: dropletId });
    assert.equal(off.data.action.type, 'power_off');
    await completed(off.data.action.id);
    assert.equal((await dots.droplet.getDroplet({ droplet_id: dropletId })).data.droplet.status, 'off');
    assert.equal(alive(qemuPid), false, 'powered off: its QEMU is gone');

    const on = await dots.droplet.powerOnDroplet({ droplet_id: dropletId });
    assert.equal(on.data.action.type, 'power_on');
    await completed(on.data.action.id);
    const { droplet } = (await dots.droplet.getDroplet({ droplet_id: dropletId })).data;
    assert.equal(droplet.status, 'active');
    // Really up again: its SSH server answers on the same address and port.
    await waitForSshBanner((droplet as unknown as { ssh_port: number }).ssh_port, 180_000, droplet.networks.v4.find((n) => n.type === 'public')!.ip_address);
  });

  test('7. delete answers 204 and the droplet is gone', async () => {
    const res = await dots.droplet.deleteDroplet({ droplet_id: dropletId });
    assert.equal(res.status, 204);
    const gone = await until('droplet gone', async () => {
      const f = await failure(dots.droplet.getDroplet({ droplet_id: dropletId })).catch(() => undefined);
      return f?.status === 404 ? f : undefined;
    }, 120_000);
    assert.equal(gone.body.id, 'not_found');
    assert.equal(typeof gone.body.request_id, 'string');
    assert.deepEqual((await dots.droplet.listDroplets({})).data.droplets, []);
    const qemuLeft = (() => {
      try {
        return Number(readFileSync(path.join(dataDir, 'vms', `vm-${dropletId}`, 'qemu.pid'), 'utf8').trim());
      } catch {
        return undefined;
      }
    })();
    if (qemuLeft) assert.equal(alive(qemuLeft), false, 'its QEMU is gone');
  });
});
