import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import type { NewEvent } from '../../events/events.repository.js';
import type { LiveBus } from '../../../operations/live-bus.js';
import type { SshPeers } from '../ports.js';
import { SyslogChannels, type ChannelVm } from './channels.js';
import { SyslogIngest, type VmRef } from './ingest.js';
import { SyslogListener } from './listener.js';

/** What the ingest needs of the VMs table. */
export interface IngestVms {
  listRunning(): Promise<ChannelVm[]>;
  listLive(): Promise<{ id: number; user_id: number; driver: string; ip_address: string | null }[]>;
}

export interface SyslogIngestDeps {
  events: { record(event: NewEvent): Promise<void> };
  vms: IngestVms;
  bus?: LiveBus;
  /** Opens a VM's syslog channel through its driver; undefined when the driver has none. */
  openChannel(vm: ChannelVm): Promise<Duplex | undefined>;
  peers: SshPeers;
  log: FastifyBaseLogger;
  settings: { listen: string; maxLineBytes: number; linesPerSecondPerVm: number };
  /** Tuning for tests. */
  channelIntervalMs?: number;
  dropReportMs?: number;
}

/** VMs on the QEMU user network all have the same address (10.0.2.15): it names no one on a bridge. */
const ADDRESSLESS_DRIVERS = new Set(['qemu', 'fake']);

/**
 * The syslog ingest as a service: the per-VM channels (QEMU guestfwd sockets) and, when
 * `settings.listen` is set, the generic UDP+TCP receiver for guests on bridged networks.
 */
export function createSyslogIngest(d: SyslogIngestDeps) {
  const ingest = new SyslogIngest({
    events: d.events,
    peers: d.peers,
    log: d.log,
    maxLineBytes: d.settings.maxLineBytes,
    linesPerSecondPerVm: d.settings.linesPerSecondPerVm,
    dropReportMs: d.dropReportMs,
  });
  const channels = new SyslogChannels({ ingest, running: () => d.vms.listRunning(), open: d.openChannel, log: d.log, intervalMs: d.channelIntervalMs });

  // Known addresses of bridged VMs (refreshed with the channels): one VM per address, or nobody.
  let byAddress = new Map<string, VmRef | null>();
  const refreshAddresses = async () => {
    const next = new Map<string, VmRef | null>();
    for (const vm of await d.vms.listLive()) {
      if (!vm.ip_address || ADDRESSLESS_DRIVERS.has(vm.driver)) continue;
      // Two VMs claiming one address: neither gets the lines.
      next.set(vm.ip_address, next.has(vm.ip_address) ? null : { id: vm.id, userId: vm.user_id });
    }
    byAddress = next;
  };
  const listener = d.settings.listen
    ? new SyslogListener({ ingest, listen: d.settings.listen, vmByAddress: (a) => byAddress.get(a) ?? null, log: d.log })
    : undefined;
  let addressTimer: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;

  return {
    ingest,
    channels,
    /** Counters: totals, per source, and which VMs' channels are open. */
    stats: () => ({ ...ingest.stats(), channels: channels.connected() }),
    /** The bound ports of the generic receiver, once started (undefined when off). */
    listening: undefined as { udpPort: number; tcpPort: number } | undefined,
    async start() {
      // Cluster-wide: a VM started or destroyed through another server process opens or forgets its log channel here too.
      unsubscribe = d.bus?.subscribeCluster(({ event }) => {
        if (event.kind !== 'vm') return;
        channels.poke();
        if (event.vm.status === 'destroyed') ingest.forget(event.vm.id);
      });
      channels.start();
      if (listener) {
        await refreshAddresses().catch((err: unknown) => d.log.warn({ err }, 'syslog listener: cannot read VM addresses'));
        addressTimer = setInterval(() => void refreshAddresses().catch(() => undefined), 10_000);
        addressTimer.unref();
        this.listening = await listener.start();
        d.log.info({ listen: d.settings.listen }, 'syslog receiver listening');
      }
    },
    async close() {
      unsubscribe?.();
      clearInterval(addressTimer);
      await channels.close();
      await listener?.close();
      ingest.close();
    },
  };
}
export type SyslogIngestService = ReturnType<typeof createSyslogIngest>;
