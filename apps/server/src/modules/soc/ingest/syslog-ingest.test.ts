import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Event } from '@twarga/contract';
import type { FastifyBaseLogger } from 'fastify';
import { systemClock } from '../../../lib/time.js';
import { LiveBus } from '../../../operations/live-bus.js';
import { createTestDatabase, testDatabaseKinds, type TestDatabase } from '../../../test-support/databases.js';
import { EventLog } from '../../events/event-log.js';
import { EventsRepository } from '../../events/events.repository.js';
import type { SshPeer, SshPeers } from '../ports.js';
import { createSyslogIngest, type SyslogIngestService } from './syslog-ingest.service.js';

const quiet = { warn() {}, info() {}, error() {}, debug() {}, trace() {}, fatal() {}, child: () => quiet } as unknown as FastifyBaseLogger;

/** A fake QEMU side of a VM's channel: a unix socket server (like QEMU's chardev) we write guest lines into. */
async function fakeChannel(dir: string, name: string) {
  const file = path.join(dir, `${name}.sock`);
  rmSync(file, { force: true });
  let client: net.Socket | undefined;
  let connected!: () => void;
  const ready = new Promise<void>((r) => (connected = r));
  const server = net.createServer((s) => {
    client = s;
    connected();
  });
  await new Promise<void>((r) => server.listen(file, r));
  return {
    file,
    ready,
    write: (text: string) => client!.write(text),
    close: () => {
      client?.destroy();
      server.close();
    },
  };
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const VM_A = { id: 101, user_id: 7, host_id: 1 };
const VM_B = { id: 102, user_id: 8, host_id: 1 };
const RATE = 20;

for (const kind of testDatabaseKinds()) {
  describe(`syslog ingest over per-VM channels (${kind})`, () => {
    let db: TestDatabase;
    let dir: string;
    let repo: EventsRepository;
    let service: SyslogIngestService;
    let a: Awaited<ReturnType<typeof fakeChannel>>;
    let b: Awaited<ReturnType<typeof fakeChannel>>;
    // The SSH gateway's view: VM A's guest port 44454 was a remote client at 198.51.100.7:40001.
    const peers: SshPeers = {
      lookup: (vmId, port): SshPeer | undefined => (vmId === VM_A.id && port === 44454 ? { address: '198.51.100.7', port: 40001, ours: false, via: 'gateway' } : undefined),
    };

    const events = async (filter: (e: Event) => boolean) => (await repo.list({ limit: 10_000 })).filter(filter);

    before(async () => {
      db = await createTestDatabase(kind);
      dir = mkdtempSync(path.join(os.tmpdir(), 'twarga-syslog-'));
      repo = new EventsRepository(db.handle.db);
      const log = new EventLog(repo, systemClock, quiet, new LiveBus());
      a = await fakeChannel(dir, 'a');
      b = await fakeChannel(dir, 'b');
      const sockets = new Map([[VM_A.id, a.file], [VM_B.id, b.file]]);
      service = createSyslogIngest({
        events: log,
        vms: { listRunning: async () => [VM_A, VM_B], listLive: async () => [] },
        openChannel: (vm) =>
          new Promise((resolve, reject) => {
            const s = net.connect(sockets.get(vm.id)!);
            s.once('connect', () => resolve(s));
            s.once('error', reject);
          }),
        peers,
        log: quiet,
        settings: { listen: '', maxLineBytes: 512, linesPerSecondPerVm: RATE },
        channelIntervalMs: 100,
        dropReportMs: 300,
      });
      await service.start();
      await Promise.all([a.ready, b.ready]);
    });

    after(async () => {
      await service.close();
      a.close();
      b.close();
      await db.cleanup();
      rmSync(dir, { recursive: true, force: true });
    });

    test("a line on VM A's channel is A's even when it names VM B, with the real client from the gateway", async () => {
      a.write("<84>Nov 30 17:42:08 vm-102 dropbear[146]: Bad password attempt for 'root' from 10.0.2.2:44454\n");
      const [e] = await until('the event', async () => {
        const found = await events((x) => x.action === 'ssh.login_failed');
        return found.length ? found : undefined;
      });
      assert.equal(e!.vm_id, VM_A.id);
      assert.equal(e!.user_id, VM_A.user_id);
      assert.equal(e!.type, 'security');
      assert.equal(e!.severity, 'warning');
      assert.equal(e!.source_ip, '198.51.100.7');
      assert.deepEqual(
        [e!.details.user, e!.details.method, e!.details.client_port, e!.details.guest_address, e!.details.via, e!.details.ours, e!.details.hostname],
        ['root', 'password', 40001, '10.0.2.2:44454', 'gateway', false, 'vm-102'],
      );
      assert.equal((await events((x) => x.vm_id === VM_B.id)).length, 0, 'nothing lands on B');
    });

    test('dropbear lines without the client get it from the same process; an unknown local client is 127.0.0.1 via host', async () => {
      b.write('<86>Nov 30 17:42:08 tiny dropbear[147]: Child connection from 10.0.2.2:44460\n<84>Nov 30 17:42:08 tiny dropbear[147]: Login attempt for nonexistent user\n');
      const e = await until('the invalid user event', async () => (await events((x) => x.action === 'ssh.invalid_user'))[0]);
      assert.deepEqual([e.vm_id, e.source_ip, e.details.via, e.details.guest_address, e.details.client_port], [VM_B.id, '127.0.0.1', 'host', '10.0.2.2:44460', 44460]);
    });

    test("a flood on A is rate-limited and reported while every one of B's lines arrives", async () => {
      const before = service.stats();
      const flood = Array.from({ length: 3000 }, (_, i) => `<84>Nov 30 17:50:00 tiny dropbear[200]: Bad password attempt for 'flood' from 10.0.2.2:${1000 + (i % 60000)}\n`).join('');
      const started = Date.now();
      a.write(flood);
      for (let i = 0; i < 15; i++) b.write(`<84>Nov 30 17:50:00 tiny dropbear[300]: Bad password attempt for 'bee' from 10.0.2.2:${2000 + i}\n`);
      const bees = await until('all of B\'s lines', async () => {
        const found = await events((x) => x.details.user === 'bee');
        return found.length === 15 ? found : undefined;
      });
      assert.ok(bees.every((x) => x.vm_id === VM_B.id));
      const received = (s: ReturnType<SyslogIngestService['stats']>) => s.sources.find((x) => x.vmId === VM_A.id)?.counters.received ?? 0;
      await until('all of the flood read', async () => received(service.stats()) - received(before) === 3000 && service.stats().pending === 0);
      const elapsed = (Date.now() - started) / 1000;
      const floods = await events((x) => x.details.user === 'flood');
      // The burst (2 s of lines) plus the rate for the time it took: never the 3000.
      assert.ok(floods.length <= RATE * 2 + RATE * (elapsed + 1), `${floods.length} of A's flood got through in ${elapsed} s`);
      assert.ok(floods.length >= RATE, 'the burst itself passes');
      const stats = service.stats();
      const statOf = (vmId: number) => stats.sources.find((s) => s.vmId === vmId)!.counters;
      assert.equal(statOf(VM_A.id).rateLimited - (before.sources.find((s) => s.vmId === VM_A.id)?.counters.rateLimited ?? 0), 3000 - floods.length);
      assert.equal(statOf(VM_B.id).rateLimited, 0);
      const report = await until('the drop report', async () => (await events((x) => x.action === 'syslog.dropped' && x.vm_id === VM_A.id))[0]);
      assert.equal(report.user_id, VM_A.user_id);
      assert.ok((report.details.rate_limited as number) > 0);
      // One report per interval, not one per dropped line.
      await new Promise((r) => setTimeout(r, 700));
      assert.ok((await events((x) => x.action === 'syslog.dropped' && x.vm_id === VM_A.id)).length <= 2);
      assert.equal((await events((x) => x.action === 'syslog.dropped' && x.vm_id === VM_B.id)).length, 0);
    });

    test('malformed and oversize lines are counted and dropped or cut; the next good line is processed', async () => {
      const c0 = service.stats().sources.find((s) => s.vmId === VM_B.id)!.counters;
      b.write('this is not syslog\n');
      b.write('\x00\xff\xfe<<<>>>\n');
      b.write(`<84>Nov 30 17:50:00 tiny dropbear[301]: Bad password attempt for '${'x'.repeat(2000)}' from 10.0.2.2:3000\n`);
      b.write("<84>Nov 30 17:50:01 tiny dropbear[302]: Bad password attempt for 'after' from 10.0.2.2:3001\n");
      const e = await until('the good line after the bad ones', async () => (await events((x) => x.details.user === 'after'))[0]);
      assert.equal(e.vm_id, VM_B.id);
      const c1 = service.stats().sources.find((s) => s.vmId === VM_B.id)!.counters;
      assert.equal(c1.malformed - c0.malformed, 2);
      assert.equal(c1.oversize - c0.oversize, 1);
      const report = await until('the drop report for B', async () => (await events((x) => x.action === 'syslog.dropped' && x.vm_id === VM_B.id))[0]);
      assert.deepEqual([report.details.malformed, report.details.oversize], [2, 1]);
    });

    test("a channel that closes (the VM restarts) is opened again, and still A's", async () => {
      a.close();
      const again = await fakeChannel(dir, 'a');
      a = again;
      await again.ready;
      again.write("<84>Nov 30 17:55:00 tiny dropbear[400]: Bad password attempt for 'reborn' from 10.0.2.2:5000\n");
      const e = await until('the line after the restart', async () => (await events((x) => x.details.user === 'reborn'))[0], 15_000);
      assert.equal(e.vm_id, VM_A.id);
    });
  });
}
