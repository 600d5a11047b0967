import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { test } from 'node:test';
import type { FastifyBaseLogger } from 'fastify';
import type { NewEvent } from '../../events/events.repository.js';
import { TokenBucket } from './rate-limit.js';
import { parseListen } from './listener.js';
import { createSyslogIngest } from './syslog-ingest.service.js';

const quiet = { warn() {}, info() {}, error() {}, debug() {}, child: () => quiet } as unknown as FastifyBaseLogger;

async function until<T>(fn: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('token bucket: a burst, then the rate; time is the caller\'s', () => {
  const b = new TokenBucket(10, 20, 0);
  let passed = 0;
  for (let i = 0; i < 100; i++) if (b.take(0)) passed++;
  assert.equal(passed, 20, 'the burst');
  assert.equal(b.take(50), false, 'half a token is not a token');
  assert.equal(b.take(100), true, 'one token after 100 ms at 10/s');
  passed = 0;
  for (let i = 0; i < 100; i++) if (b.take(10_000)) passed++;
  assert.equal(passed, 20, 'refills up to the burst, not beyond');
});

test('listen addresses', () => {
  assert.deepEqual(parseListen('127.0.0.1:514'), { host: '127.0.0.1', port: 514 });
  assert.deepEqual(parseListen('[::1]:5514'), { host: '::1', port: 5514 });
  assert.throws(() => parseListen('localhost:514'), /host:port/);
  assert.throws(() => parseListen('127.0.0.1:70000'), /host:port/);
});

/** The generic receiver on loopback; `bridged` says which VM (libvirt) holds 127.0.0.1, if any. */
async function receiver(bridged: { id: number; user_id: number; driver: string; ip_address: string }[]) {
  const recorded: NewEvent[] = [];
  const service = createSyslogIngest({
    events: { record: async (e) => void recorded.push(e) },
    vms: { listRunning: async () => [], listLive: async () => bridged },
    openChannel: async () => undefined,
    peers: { lookup: () => undefined },
    log: quiet,
    settings: { listen: '127.0.0.1:0', maxLineBytes: 1024, linesPerSecondPerVm: 100 },
  });
  await service.start();
  return { service, recorded, ports: service.listening! };
}

const LINE = '<38>Nov 30 17:00:00 web sshd[9]: Failed password for root from 203.0.113.9 port 50122 ssh2';

test('UDP and TCP (both framings): a sender that is a bridged VM\'s known address is that VM', async () => {
  const { service, recorded, ports } = await receiver([{ id: 5, user_id: 3, driver: 'libvirt', ip_address: '127.0.0.1' }]);
  try {
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((r) => udp.send(Buffer.from(`${LINE}\n`), ports.udpPort, '127.0.0.1', () => r()));
    udp.close();
    const tcp = net.connect(ports.tcpPort, '127.0.0.1');
    await new Promise((r) => tcp.once('connect', r));
    const five = LINE.replace('50122', '50123');
    tcp.end(`${LINE.replace('50122', '50124')}\n${five.length} ${five}`);
    await until(() => recorded.length === 3);
    assert.deepEqual(recorded.map((e) => [e.vmId, e.userId, e.sourceIp, e.details?.client_port]).sort(), [[5, 3, '203.0.113.9', 50122], [5, 3, '203.0.113.9', 50123], [5, 3, '203.0.113.9', 50124]]);
    assert.ok(recorded.every((e) => e.action === 'ssh.login_failed' && e.details?.user === 'root'));
  } finally {
    await service.close();
  }
});

test('a sender that is no VM\'s known address is recorded unattributed (QEMU user-net addresses name no one)', async () => {
  // 127.0.0.1 is not a libvirt VM's here; a QEMU VM's 10.0.2.15 and two VMs on one address never attribute.
  const { service, recorded, ports } = await receiver([
    { id: 6, user_id: 3, driver: 'qemu', ip_address: '10.0.2.15' },
    { id: 7, user_id: 3, driver: 'libvirt', ip_address: '192.168.121.5' },
  ]);
  try {
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((r) => udp.send(Buffer.from(LINE), ports.udpPort, '127.0.0.1', () => r()));
    udp.close();
    await until(() => recorded.length === 1);
    assert.deepEqual([recorded[0]!.vmId, recorded[0]!.userId, recorded[0]!.details?.attributed, recorded[0]!.details?.channel], [null, null, false, 'udp:127.0.0.1']);
  } finally {
    await service.close();
  }
});
