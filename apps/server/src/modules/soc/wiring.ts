import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../../config/config.js';
import type { Db } from '../../db/database.js';
import type { Clock } from '../../lib/time.js';
import type { App } from '../../http/types.js';
import type { LiveBus } from '../../operations/live-bus.js';
import type { EventLog } from '../events/event-log.js';
import type { NotificationsService } from '../notifications/notifications.service.js';
import type { VmsRepository } from '../vms/vms.repository.js';
import { createDetection } from './detection/index.js';
import { createSocEvents } from './events/index.js';
import type { PeerRegistry } from './gateway/peer-registry.js';
import { checkedPublicAddress } from './gateway/addresses.js';
import { SshGateway } from './gateway/ssh-gateway.js';
import type { ComputeRegistry } from '../../compute/registry.js';
import { hasSyslogChannel, instanceId } from '../../compute/driver.js';
import { createSyslogIngest } from './ingest/syslog-ingest.service.js';

export interface SocDeps {
  db: Db;
  dbKind: 'sqlite' | 'postgres';
  config: Config;
  events: EventLog;
  bus: LiveBus;
  vms: VmsRepository;
  notifications: NotificationsService;
  clock: Clock;
  log: FastifyBaseLogger;
  /**
   * Who is behind each connection to a VM's SSH forward (SshPeers, for the syslog ingest: the guest
   * sees 10.0.2.2:<port>), fed by the SSH gateway and by our own connections (OwnConnections: the
   * terminal and banner probes register there; app.ts builds it before them).
   */
  sshPeers: PeerRegistry;
  /** The compute drivers: the syslog ingest opens each running VM's channel through its driver (SyslogChannelSource). */
  drivers?: ComputeRegistry;
}

/**
 * Builds the SOC (app.ts stays a list of wires): detection rules, incidents and blocks; the events
 * API (search, statistics, export); the syslog ingest from guests; the SSH gateway.
 * `register` adds the routes; `start` opens listeners and timers (server.ts and tests that need
 * them); `close` stops everything.
 */
export function createSoc(deps: SocDeps) {
  const starts: Array<() => Promise<void> | void> = [];
  const closes: Array<() => Promise<void> | void> = [];
  const routes: Array<(app: App) => Promise<void>> = [];

  // --- detection: rules, incidents, blocks ---
  // The engine follows the event log from here on. The rules, active incidents and blocks are read
  // when the app gets ready (onReady, so tests' harness has them too): the blocklist is complete
  // before the first request. For the events API: detection.incidentLinks and detection.counts.
  const detection = createDetection({
    db: deps.db, events: deps.events, vms: deps.vms, notifier: deps.notifications, clock: deps.clock, log: deps.log,
    policy: { blockMaxSeconds: deps.config.blockMaxSeconds, blockLookbackDays: deps.config.blockLookbackDays, notifyMinIntervalSeconds: deps.config.socNotifyMinIntervalSeconds },
  });
  routes.push(async (app) => {
    app.addHook('onReady', () => detection.load());
    await detection.routes(app);
  });
  starts.push(async () => {
    await detection.load();
    detection.start();
  });
  closes.push(() => detection.close());

  // --- events API: search, statistics, export, retention ---
  // An event's incident links (soc_incident_events) and the open-incident and active-block counts
  // come from the detection part, through these two small interfaces only.
  const eventsApi = createSocEvents({
    db: deps.db, dbKind: deps.dbKind, clock: deps.clock, log: deps.log, retentionDays: deps.config.eventRetentionDays,
    incidents: detection.incidentLinks, counts: detection.counts,
  });
  routes.push(eventsApi.routes);
  starts.push(() => eventsApi.retention.start());
  closes.push(() => eventsApi.retention.stop());

  // --- syslog ingest ---
  // Guests' auth logs (sshd, dropbear) → ssh.* events, attributed by the channel they came on.
  const drivers = deps.drivers;
  const syslog = createSyslogIngest({
    events: deps.events,
    vms: deps.vms,
    bus: deps.bus,
    openChannel: async (vm) => {
      const driver = drivers && vm.host_id !== null ? await drivers.forVm(vm) : undefined;
      return driver && hasSyslogChannel(driver) ? driver.openSyslogChannel(instanceId(vm.id)) : undefined;
    },
    peers: deps.sshPeers,
    log: deps.log,
    settings: { listen: deps.config.syslogListen, maxLineBytes: deps.config.syslogMaxLineBytes, linesPerSecondPerVm: deps.config.syslogLinesPerSecondPerVm },
  });
  starts.push(() => syslog.start());
  closes.push(() => syslog.close());

  // --- SSH gateway ---
  // With TWARGA_SSH_PUBLIC_ADDRESS, remote clients reach VMs' SSH through a listener there (same
  // port as the VM's forward): it sees their real address for the ingest (sshPeers) and enforces
  // blocks. A bad address stops the server at start (checkedPublicAddress says why).
  const sshGateway = deps.config.sshPublicAddress
    ? new SshGateway({
        address: checkedPublicAddress(deps.config.sshPublicAddress),
        blocklist: detection.blocklist, peers: deps.sshPeers, events: deps.events, vms: deps.vms, bus: deps.bus, log: deps.log, clock: deps.clock,
      })
    : undefined;
  if (sshGateway) {
    starts.push(() => sshGateway.start());
    closes.push(() => sshGateway.close());
  }

  return {
    detection,
    /** Active blocks, answered from memory (the SSH gateway, the control-plane hook). */
    blocklist: detection.blocklist,
    eventsApi,
    syslog,
    /** The SSH gateway, when TWARGA_SSH_PUBLIC_ADDRESS is set. */
    sshGateway,
    register: async (app: App) => {
      for (const r of routes) await r(app);
    },
    start: async () => {
      for (const s of starts) await s();
    },
    close: async () => {
      for (const c of closes.reverse()) await c();
    },
  };
}
export type Soc = ReturnType<typeof createSoc>;
