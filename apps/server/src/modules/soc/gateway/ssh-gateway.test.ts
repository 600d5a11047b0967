import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import type { FastifyBaseLogger } from 'fastify';
import type { Event } from '@twarga/contract';
import { ConfigError } from '../../../config/config.js';
import { createHarness, TestClock } from '../../../test-support/harness.js';
import { connectOwned } from '../../../lib/own-connection.js';
import { LiveBus } from '../../../operations/live-bus.js';
import { sshBannerAnswers } from '../../health-watch/ssh-banner.js';
import type { NewEvent } from '../../events/events.repository.js';
import type { VmRow } from '../../vms/vms.repository.js';
import { checkedPublicAddress, publicAddressProblem } from './addresses.js';
import { PEER_RETENTION_MS, PeerRegistry } from './peer-registry.js';
import { MAX_CONNECTIONS_PER_ADDRESS, SshGateway } from './ssh-gateway.js';

/**
 * The SSH gateway with real sockets, all on loopback (the network rule): the "public" address is
 * 127.0.0.2, the VM's QEMU forward is a banner server on 127.0.0.1, and clients come from
 * 127.0.0.3 (allowed) and 127.0.0.4 (blocked): a connection's source address is chosen by binding.
 */
const PUBLIC = '127.0.0.2';
const GOOD = '127.0.0.3';
const BAD = '127.0.0.4';
const BANNER = 'SSH-2.0-dropbear_2022.83\r\n';

const quietLog = { error() {}, warn() {}, info() {}, debug() {}, trace() {}, fatal() {}, child: () => quietLog } as unknown as FastifyBaseLogger;

/** What the guest's sshd sees: each connection's source port on the forward (QEMU keeps it). */
interface Upstream {
  server: Server;
  port: number;
  sourcePorts: number[];
  /** Connections the VM saw closed. */
  closed: number;
}
function upstream(): Promise<Upstream> {
  return new Promise((resolve) => {
    const sourcePorts: number[] = [];
    const up = { closed: 0 } as Upstream;
    const server = createServer((s) => {
      sourcePorts.push(s.remotePort!);
      s.on('close', () => up.closed++);
      s.on('error', () => undefined);
      s.write(BANNER);
      s.on('data', (d) => s.write(d)); // echo: proves bytes flow both ways
    });
    server.listen(0, '127.0.0.1', () => resolve(Object.assign(up, { server, port: (server.address() as { port: number }).port, sourcePorts })));
  });
}

/** A client from `from`: what it received and how it ended. */
function client(port: number, from: string) {
  const socket = connect({ host: PUBLIC, port, localAddress: from });
  let received = '';
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => (received += d));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  let localPort: number | undefined;
  const connected = new Promise<void>((r) => socket.once('connect', () => r(void (localPort = socket.localPort))));
  return { socket, received: () => received, closed, connected, localPort: () => localPort };
}

async function until<T>(what: string, fn: () => T | undefined | false, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function vmRow(id: number, port: number, status = 'running'): VmRow {
  return { id, user_id: 7, name: `vm${id}`, status, ssh_port: port, guest_ssh_host: null, guest_ssh_port: null, destroyed_at: null } as unknown as VmRow;
}

describe('SSH gateway', () => {
  let up: Upstream;
  let gateway: SshGateway;
  let peers: PeerRegistry;
  let clock: TestClock;
  let rows: VmRow[];
  const blocked = new Set<string>();
  const recorded: NewEvent[] = [];
  const bus = new LiveBus();
  const listeners = new Set<(e: Event) => void>();
  const events = {
    record: async (e: NewEvent) => void recorded.push(e),
    subscribeCluster: (l: (e: Event) => void) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };

  before(async () => {
    up = await upstream();
  });
  after(() => up.server.close());

  beforeEach(async () => {
    blocked.clear();
    recorded.length = 0;
    up.sourcePorts.length = 0;
    up.closed = 0;
    clock = new TestClock();
    peers = new PeerRegistry(clock);
    rows = [vmRow(1, up.port)];
    gateway = new SshGateway({
      address: PUBLIC, peers, events, bus, log: quietLog, syncIntervalMs: 60_000, clock,
      blocklist: { blocksVm: (address, vmId) => vmId === 1 && blocked.has(address) },
      vms: { listLive: async () => rows },
    });
    await gateway.start();
  });
  afterEach(() => gateway.close());

  test('one address holds at most MAX_CONNECTIONS_PER_ADDRESS connections to a VM; another address still gets in', async () => {
    const held = Array.from({ length: MAX_CONNECTIONS_PER_ADDRESS }, () => client(up.port, BAD));
    for (const h of held) await until('banner', () => h.received().startsWith(BANNER));
    const extra = client(up.port, BAD);
    await extra.closed;
    assert.equal(extra.received(), '', 'closed before the banner');
    const other = client(up.port, GOOD);
    await until('the other address gets the banner', () => other.received().startsWith(BANNER));
    // A slot freed is a slot again.
    held[0]!.socket.destroy();
    await held[0]!.closed;
    await until('the gateway saw it close', () => up.closed >= 1);
    const again = client(up.port, BAD);
    await until('banner again', () => again.received().startsWith(BANNER));
    const open = [...held.slice(1), other, again];
    for (const c of open) c.socket.destroy();
    // Every connection the VM saw has closed before the next test counts them.
    await until('all closed at the VM', () => up.closed === 1 + open.length);
  });

  test('forwards a client to the VM and records its real address under the upstream port the guest sees', async () => {
    const c = client(up.port, GOOD);
    await c.connected;
    await until('banner through the gateway', () => c.received().startsWith(BANNER));
    c.socket.write('ping');
    await until('echo back', () => c.received().endsWith('ping'));
    const guestPort = up.sourcePorts[0]!;
    assert.deepEqual(peers.lookup(1, guestPort), { address: GOOD, port: c.socket.localPort, ours: false, via: 'gateway' });
    assert.equal(peers.lookup(2, guestPort), undefined, 'another VM never matches');
    c.socket.end();
    await c.closed;
    await until('the VM saw it close', () => up.closed === 1);
    await new Promise((r) => setTimeout(r, 50)); // the gateway's side of it closes on its next turn
    // Log lines arrive after the connection closed: still known for the retention period…
    clock.advanceMinutes(PEER_RETENTION_MS / 60_000 - 1);
    assert.equal(peers.lookup(1, guestPort)?.address, GOOD);
    // …then forgotten.
    clock.advanceMinutes(2);
    assert.equal(peers.lookup(1, guestPort), undefined);
    assert.equal(recorded.length, 0, 'an allowed connection is no event of the gateway');
  });

  test('a blocked address is closed before a single byte and recorded; another address still gets in', async () => {
    blocked.add(BAD);
    const bad = client(up.port, BAD);
    await bad.closed;
    assert.equal(bad.received(), '', 'no SSH banner for a blocked address');
    const good = client(up.port, GOOD);
    await until('banner for the other address', () => good.received().startsWith(BANNER));
    assert.equal(up.sourcePorts.length, 1, 'the blocked client never reached the VM');
    await until('refusal recorded', () => recorded.length === 1);
    const e = recorded[0]!;
    assert.equal(e.action, 'ssh.connection_refused');
    assert.equal(e.type, 'security');
    assert.equal(e.sourceIp, BAD);
    assert.equal(e.vmId, 1);
    assert.equal(e.userId, 7);
    assert.equal(e.details?.client_port, bad.localPort());
    good.socket.destroy();
  });

  test('open connections from a newly blocked address are cut; others stay', async () => {
    const bad = client(up.port, BAD);
    const good = client(up.port, GOOD);
    await until('both connected', () => bad.received().startsWith(BANNER) && good.received().startsWith(BANNER));
    blocked.add(BAD);
    // The detection side records the block; the gateway hears it on the event log.
    for (const l of listeners) l({ code: 'soc.block_added', action: 'soc.block_added' } as Event);
    await bad.closed;
    const e = await until('cut recorded', () => recorded.find((r) => r.action === 'ssh.connection_refused'));
    assert.equal(e.sourceIp, BAD);
    assert.equal(e.details?.cut, true);
    good.socket.write('still-here');
    await until('the other client still talks', () => good.received().endsWith('still-here'));
    good.socket.destroy();
  });

  test('a blocked address that keeps knocking: 20 refusals a minute are rows of their own, the rest fold into one', async () => {
    blocked.add(BAD);
    for (let i = 0; i < 25; i++) await client(up.port, BAD).closed;
    await until('25 refusals recorded', () => recorded.length === 25);
    assert.equal(recorded.filter((e) => typeof e.details?.client_port === 'number').length, 20);
    const folded = recorded.filter((e) => e.details?.folded === true);
    assert.equal(folded.length, 5);
    assert.equal(new Set(folded.map((e) => JSON.stringify(e))).size, 1, 'identical: the event log counts them on one row');
    assert.equal(up.sourcePorts.length, 0);
    // The next minute: rows of their own again.
    clock.advanceMinutes(1);
    await client(up.port, BAD).closed;
    await until('one more', () => recorded.length === 26);
    assert.equal(typeof recorded[25]!.details?.client_port, 'number');
  });

  test('follows the VM: a stopped VM closes its listener, a started one opens it', async () => {
    assert.deepEqual([...gateway.listening()], [[1, up.port]]);
    rows = [vmRow(1, up.port, 'stopped')];
    bus.publish(7, { kind: 'vm', vm: {} as never });
    await until('listener closed', () => gateway.listening().size === 0);
    const refused = client(up.port, GOOD);
    await refused.closed;
    assert.equal(refused.received(), '');
    rows = [vmRow(1, up.port)];
    await gateway.sync();
    const c = client(up.port, GOOD);
    await until('banner again', () => c.received().startsWith(BANNER));
    c.socket.destroy();
  });
});

describe('our own connections', () => {
  test('a banner probe and a terminal-style socket are labelled ours by their local port', async () => {
    const up = await upstream();
    const peers = new PeerRegistry(new TestClock());
    try {
      assert.equal(await sshBannerAnswers('127.0.0.1', up.port, 3000, { vmId: 5, registry: peers }), true);
      const probePort = await until('probe seen', () => up.sourcePorts[0]);
      assert.deepEqual(peers.lookup(5, probePort), { address: '127.0.0.1', port: probePort, ours: true, via: 'control-plane' });

      const socket: Socket = connectOwned('127.0.0.1', up.port, { vmId: 5, registry: peers });
      await new Promise((r) => socket.once('connect', r));
      const port = await until('socket seen', () => up.sourcePorts[1]);
      assert.equal(port, socket.localPort);
      assert.equal(peers.lookup(5, port)?.ours, true);
      assert.equal(peers.lookup(6, port), undefined);
      socket.destroy();
      // Without a tag nothing is registered (a connection the SOC does not know is not ours).
      const plain = connectOwned('127.0.0.1', up.port);
      await new Promise((r) => plain.once('connect', r));
      const plainPort = await until('plain seen', () => up.sourcePorts[2]);
      assert.equal(peers.lookup(5, plainPort), undefined);
      plain.destroy();
    } finally {
      up.server.close();
    }
  });
});

describe('the public address', () => {
  test('the wildcard, loopback and host names are refused with a reason; one address of the machine is accepted', () => {
    for (const bad of ['0.0.0.0', '::', '::ffff:0.0.0.0']) assert.match(publicAddressProblem(bad)!, /wildcard.*127\.0\.0\.1/);
    for (const bad of ['127.0.0.1', '::1']) assert.match(publicAddressProblem(bad)!, /loopback/);
    assert.match(publicAddressProblem('ssh.example.com')!, /not an IP address/);
    assert.throws(() => checkedPublicAddress('0.0.0.0'), /TWARGA_SSH_PUBLIC_ADDRESS: 0\.0\.0\.0 is the wildcard/);
    assert.equal(publicAddressProblem('192.0.2.10'), null);
    assert.equal(publicAddressProblem('2001:db8::10'), null);
  });

  test('the server does not start with the wildcard as the public address', async () => {
    await assert.rejects(createHarness('sqlite', { sshPublicAddress: '0.0.0.0' }), (err: Error) => err instanceof ConfigError && /TWARGA_SSH_PUBLIC_ADDRESS: 0\.0\.0\.0 is the wildcard/.test(err.message));
  });
});
