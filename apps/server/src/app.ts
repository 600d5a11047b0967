import { randomUUID } from 'node:crypto';
import path from 'node:path';
import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyWebsocket from '@fastify/websocket';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyServerOptions } from 'fastify';
import type { Config } from './config/config.js';
import type { Secrets } from './config/secrets.js';
import type { DatabaseHandle } from './db/database.js';
import { registerApiDocs } from './http/api-docs.js';
import { AppError, registerErrorHandling } from './http/errors.js';
import { registerGuard } from './http/guard.js';
import { registerBlockedAddresses } from './http/blocked-addresses.js';
import { registerEmptyBody } from './http/empty-body.js';
import type { Access, App } from './http/types.js';
import { systemClock, type Clock } from './lib/time.js';
import { createAdmin } from './modules/admin/wiring.js';
import { createAdminSystem } from './modules/admin/system/wiring.js';
import { createAudit } from './modules/audit/wiring.js';
import { createBilling } from './modules/billing/wiring.js';
import { authRoutes } from './modules/auth/auth.routes.js';
import { AuthService } from './modules/auth/auth.service.js';
import { SessionsRepository } from './modules/auth/sessions.repository.js';
import { LoginFailuresRepository } from './modules/auth/login-failures.repository.js';
import { OriginPolicy, portOf } from './http/origin.js';
import { LedgerService } from './modules/billing/ledger.service.js';
import { IdentityCache } from './modules/auth/identity-cache.js';
import { LiveAccess } from './modules/auth/live-access.js';
import { UserChanges } from './lib/user-changes.js';
import { ClusterSignals } from './lib/cluster-signals.js';
import { EventsRepository } from './modules/events/events.repository.js';
import { EventLog } from './modules/events/event-log.js';
import { healthRoutes } from './modules/health/health.routes.js';
import { HealthService } from './modules/health/health.service.js';
import { StorageAlarm } from './lib/disk-space.js';
import { KeysRepository } from './modules/keys/keys.repository.js';
import { keysRoutes } from './modules/keys/keys.routes.js';
import { KeysService } from './modules/keys/keys.service.js';
import { TokensRepository } from './modules/tokens/tokens.repository.js';
import { tokensRoutes } from './modules/tokens/tokens.routes.js';
import { TokensService } from './modules/tokens/tokens.service.js';
import { UsersRepository } from './modules/users/users.repository.js';
import { webRoutes } from './modules/web/web.routes.js';
import type { ComputeDriver } from './compute/driver.js';
import { driverFactories, singleDriverFactories } from './compute/factories.js';
import { ComputeRegistry } from './compute/registry.js';
import { HostsRepository } from './modules/hosts/hosts.repository.js';
import { hostsRoutes } from './modules/hosts/hosts.routes.js';
import { ColdMigrationService } from './modules/hosts/cold-migration.js';
import { HostsService } from './modules/hosts/hosts.service.js';
import { ActionsRepository } from './operations/actions.repository.js';
import { LiveBus } from './operations/live-bus.js';
import { LiveRelay } from './operations/live-relay.js';
import { ActionProgress } from './operations/action-progress.js';
import { streamRoutes } from './modules/events/stream.routes.js';
import { ImagesRepository } from './modules/images/images.repository.js';
import { ImagesService } from './modules/images/images.service.js';
import { imagesRoutes } from './modules/images/images.routes.js';
import { ImageBuilder } from './modules/images/image-build.js';
import { parseMirrorHosts } from './lib/guarded-fetch.js';
import { Reconciler } from './modules/vms/reconciler.js';
import { ActionTakeover } from './modules/vms/action-takeover.js';
import { Presence } from './cluster/presence.js';
import { newProcessId } from './cluster/process-id.js';
import { ServerProcessesRepository } from './cluster/server-processes.repository.js';
import { createSnapshots } from './modules/snapshots/wiring.js';
import { VmOperations } from './modules/vms/vm-operations.js';
import { vmsRoutes } from './modules/vms/vms.routes.js';
import { VmsService } from './modules/vms/vms.service.js';
import { VmsRepository } from './modules/vms/vms.repository.js';
import { WarmUp, warmEventSink } from './modules/vms/warm-up.js';
import { ConsoleKeys } from './modules/terminal/console-keys.js';
import { TerminalSessionsRepository } from './modules/terminal/terminal-sessions.repository.js';
import { TicketsRepository } from './modules/terminal/tickets.repository.js';
import { terminalRoutes } from './modules/terminal/terminal.routes.js';
import { metricsRoutes } from './modules/metrics/metrics.routes.js';
import { registerHttpMetrics } from './modules/metrics/prometheus.js';
import { createMetrics } from './modules/metrics/wiring.js';
import { prometheusRoutes } from './modules/metrics/prometheus.routes.js';
import { TerminalService } from './modules/terminal/terminal.service.js';
import { notificationsRoutes } from './modules/notifications/notifications.routes.js';
import { createNotifications } from './modules/notifications/wiring.js';
import { alertsRoutes } from './modules/alerts/alerts.routes.js';
import { createAlerts } from './modules/alerts/wiring.js';
import { HealthRepository } from './modules/health-watch/health.repository.js';
import { HealthWatch } from './modules/health-watch/health-watch.js';
import { createSoc } from './modules/soc/wiring.js';
import { PeerRegistry } from './modules/soc/gateway/peer-registry.js';
import { createDoCompat } from './modules/do-compat/wiring.js';
import { ClusterLocks } from './lib/cluster-lock.js';
import { leadershipFor } from './lib/leadership.js';

export const VERSION = '0.1.0';

/** Unique per process start and cheap: a random prefix and a counter. */
function requestIds(): () => string {
  const boot = randomUUID().slice(0, 8);
  let n = 0;
  return () => `${boot}-${(++n).toString(36)}`;
}

/** Every registered route and who may call it (the access test walks this list). */
export interface RouteInfo {
  method: string;
  url: string;
  access: Access;
  /** Audited for admin callers although not admin-only (config.audit: an admin acting on someone's object). */
  audit?: boolean;
}

export interface AppDeps {
  config: Config;
  secrets: Secrets;
  database: DatabaseHandle;
  clock?: Clock;
  logger?: FastifyServerOptions['logger'];
  /** The compute driver; defaults to QEMU run directly. Tests of upper layers may pass a fake. */
  driver?: ComputeDriver;
  /** The Debian image's build scripts; default images/debian/*.sh. Tests pass fakes. */
  imageScripts?: { build?: string; box?: string };
}

/** Composition root: wires repositories → services → routes. No I/O happens here beyond registration. */
export async function buildApp(deps: AppDeps) {
  const { config, secrets, database } = deps;
  const clock = deps.clock ?? systemClock;
  const app = Fastify({
    logger: deps.logger ?? {
      level: config.logLevel,
      redact: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'],
    },
    genReqId: requestIds(),
    requestIdHeader: false,
    trustProxy: config.trustProxy,
    bodyLimit: 1024 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: true } },
  }).withTypeProvider<TypeBoxTypeProvider>() as App;

  const db = database.db;
  // Admissions (read what is in use, then insert) one at a time across every process on this database.
  const locks = new ClusterLocks(db, database.kind);
  // Who runs the cluster's periodic jobs (one process on PostgreSQL), and this process's name among its peers.
  const leadership = leadershipFor(db, database.kind, app.log);
  const processId = newProcessId();
  // The live bus fans events out (SSE, alert engine, rules); the event log persists events and publishes each stored one on it.
  // On PostgreSQL the relay carries each process's messages to the others (LISTEN/NOTIFY); leader-only listeners follow leadership.
  const bus = new LiveBus(leadership);
  // Who changed (role, status, sessions, tokens): live terminals and streams check again, here and, through the relay, everywhere.
  const changes = new UserChanges();
  // Requests to the other processes (end a terminal session one of them holds).
  const signals = new ClusterSignals();
  const relay = database.kind === 'postgres' && config.databaseUrl ? new LiveRelay({ bus, changes, signals, db, url: config.databaseUrl, log: app.log }) : undefined;
  if (relay) {
    await relay.start();
    app.addHook('onClose', () => relay.close());
  }
  const events = new EventLog(new EventsRepository(db), clock, app.log, bus);
  const users = new UsersRepository(db, changes);
  const sessions = new SessionsRepository(db, changes);
  const tokensRepo = new TokensRepository(db, changes);
  const ledgerService = new LedgerService(db, changes);
  const auth = new AuthService({
    db,
    ledger: ledgerService,
    cache: new IdentityCache(changes),
    users,
    sessions,
    tokens: tokensRepo,
    events,
    clock,
    loginFailures: new LoginFailuresRepository(db),
    policy: {
      sessionTtlHours: config.sessionTtlHours,
      lockoutThreshold: config.lockoutThreshold,
      lockoutMinutes: config.lockoutMinutes,
      signupCredits: config.signupCredits,
      allowRegistration: config.allowRegistration,
    },
  });
  const tokens = new TokensService(tokensRepo, events, clock, { maxTokensPerUser: config.maxTokensPerUser }, locks.named('token-admission'));
  const keys = new KeysService(new KeysRepository(db), events, clock, { maxKeysPerUser: config.maxKeysPerUser }, locks.named('key-admission'));
  // Terminals and event streams re-check their login and rights whenever their user changes.
  const liveAccess = new LiveAccess((hash, via) => auth.reverify(hash, via), changes, clock, app.log);

  const imagesRepo = new ImagesRepository(db);
  const images = new ImagesService(imagesRepo, config.tinyImageDir, path.join(config.dataDir, 'images'), clock, app.log, { mirrorHosts: parseMirrorHosts(config.imageMirrorHosts) });
  const hostsRepo = new HostsRepository(db);
  // Debian 12, built on this host in the background once the server listens (never on the start path).
  const imageBuilder = new ImageBuilder({
    repo: imagesRepo, imagesDir: path.join(config.dataDir, 'images'), cacheRoot: config.imageCacheDir, mode: config.imageBuild, log: app.log, scripts: deps.imageScripts,
    vagrantWanted: async () => config.defaultDriver === 'vagrant' || (await hostsRepo.list()).some((h) => h.driver === 'vagrant' && h.enabled === 1),
  });
  images.attachBuilder(imageBuilder);
  // Actions are durable work items: this process vouches for those it runs (their lease) and
  // another process on the same PostgreSQL carries on those whose process died.
  const serverProcesses = new ServerProcessesRepository(db);
  const actions = new ActionsRepository(db, { id: processId, leaseMs: config.actionLeaseSeconds * 1000 });
  const progress = new ActionProgress({ actions, bus, clock, log: app.log });
  const drivers = new ComputeRegistry(hostsRepo, deps.driver ? singleDriverFactories(deps.driver) : driverFactories(config, app.log, progress, warmEventSink(events, app.log)));
  const hosts = new HostsService(hostsRepo, events, clock, (d) => drivers.supports(d), config.libvirtPool);
  const vmsRepo = new VmsRepository(db);
  const consoleKeys = new ConsoleKeys(db, secrets.consoleKeyKey, clock);
  // Snapshot rules, before the VM operations and service that run them inside VM actions.
  const snapshots = createSnapshots({ db, config, users, drivers, events, clock, log: app.log, admission: locks.named('snapshot-admission') });
  const ops = new VmOperations({ ledger: ledgerService, vms: vmsRepo, actions, images, imagesRepo, drivers, consoleKeys, progress, events, bus, clock, log: app.log, sshHost: config.sshHost, stopTimeoutMs: config.stopTimeoutSeconds * 1000, instantVms: config.instantVms, snapshots: snapshots.actions });
  const vms = new VmsService({
    db, vms: vmsRepo, actions, users, ledger: ledgerService, keys: new KeysRepository(db), images, ops, hosts, drivers, events, clock, consoleKeys, snapshots: snapshots.actions,
    admission: locks.named('vm-admission'),
    policy: {
      maxVmsPerUser: config.maxVmsPerUser,
      maxRamPerUserMb: config.maxRamPerUserMb,
      maxVcpusPerUser: config.maxVcpusPerUser,
      sshPortRange: config.sshPortRange,
      sshHost: config.sshHost,
      sshBindAddresses: ['127.0.0.1', ...(config.sshPublicAddress ? [config.sshPublicAddress] : [])],
      maxDiskGbPerUser: config.maxDiskGbPerUser,
      minFreeDiskMb: config.minFreeDiskMb,
      dataDir: config.dataDir,
    },
  });
  // Who is behind each connection to a VM's SSH forward: the SSH gateway's clients and our own
  // connections (terminal, banner probes), so the SOC tells an attacker from us.
  const sshPeers = new PeerRegistry(clock);
  const terminal = new TerminalService({
    sessions: new TerminalSessionsRepository(db), vms: vmsRepo, consoleKeys, drivers, events, bus, clock, log: app.log, access: liveAccess, ownConnections: sshPeers,
    tickets: new TicketsRepository(db), admission: locks.named('terminal-admission'),
    cluster: { self: processId, alive: () => presence.aliveIds(), signals },
    policy: {
      idleSeconds: config.terminalIdleSeconds,
      maxSeconds: config.terminalMaxSeconds,
      ticketSeconds: config.terminalTicketSeconds,
      maxSessionsPerUser: config.terminalMaxSessionsPerUser,
      recordingsDir: path.join(config.dataDir, 'recordings'),
      recordingMaxBytes: config.recordingMaxBytes,
      recordingRetentionDays: config.recordingRetentionDays,
      sshHost: config.sshHost,
    },
  });
  const presence = new Presence({
    id: processId, version: VERSION, actions, running: () => ops.runningActionIds(), processes: serverProcesses, leadership, log: app.log,
    leaseMs: config.actionLeaseSeconds * 1000, soleProcess: database.kind === 'sqlite',
  });
  presence.start();
  const takeover = new ActionTakeover({ vms: vmsRepo, actions, drivers, ops, events, clock, log: app.log });
  const reconciler = new Reconciler({ vms: vmsRepo, actions, drivers, ops, takeover, events, clock, log: app.log, soleProcess: database.kind === 'sqlite' });
  const snapshotReconciler = snapshots.reconciler((vmId) => actions.hasLiveAction(vmId));
  const { collector, service: metrics, prometheus } = createMetrics({ db, config, vms: vmsRepo, drivers, bus, clock, log: app.log });

  // E-mail and webhook deliveries run in the background; nothing that notifies waits for them.
  const notifications = createNotifications({ db, config, sealKey: secrets.notificationKey, events, clock, log: app.log, admission: locks.named('channel-admission') });
  const { engine: alertEngine, service: alerts } = createAlerts({
    db, config, bus, events, notifier: notifications, channels: (userId, ids) => notifications.notOwnedBy(userId, ids), vms: vmsRepo, clock, log: app.log,
    admission: locks.named('alert-policy-admission'),
  });
  alertEngine.start();
  // VM health (booting/responsive/unresponsive) and the boot watchdog: agent proofs come from the
  // collector's samples on the bus; the periodic pass is started by server.ts.
  const healthWatch = new HealthWatch({
    repo: new HealthRepository(db), vms: vmsRepo, drivers, bus, events, alerts, clock, log: app.log, sshHost: config.sshHost, ownConnections: sshPeers,
    policy: { unresponsiveSeconds: config.healthUnresponsiveSeconds, bootWatchdogSeconds: config.bootWatchdogSeconds, sshProbeTimeoutMs: 3000 },
  });
  healthWatch.listen();
  // The SOC: detection rules, incidents, blocks, the events API, syslog ingest and the SSH gateway.
  const soc = createSoc({ db, dbKind: database.kind, config, events, bus, vms: vmsRepo, notifications, clock, log: app.log, sshPeers, drivers });
  // Billing (metering, the low-balance watch, the user's billing API) and the admin panel.
  const billing = createBilling({ db, config, ledger: ledgerService, users, vmsRepo, vms, events, notifier: notifications, clock, log: app.log });
  const admin = createAdmin({ db, config, users, sessions, tokens: tokensRepo, ledger: ledgerService, billing, vms, vmsRepo, hostsRepo, countSnapshots: (userId) => snapshots.repo.countLive(userId), events, clock, log: app.log });
  const audit = createAudit({ db, clock, log: app.log });
  // Instant VMs: the warm snapshots the server keeps ready (built at start; shown on the admin's health page).
  const warmUp = new WarmUp({ enabled: config.instantVms, warmSizes: config.warmSizes, hosts: hostsRepo, drivers, images, imagesRepo, log: app.log });
  // Jobs the cluster runs once, all in the same (leader) process: the health watch and the alert
  // engine feed on the collector's samples from this process's bus; the reconcilers take over the
  // actions of a process that died (each process renews the leases of its own: Presence).
  for (const job of [billing.metering.job, collector.job, healthWatch.job, reconciler.job, snapshotReconciler.job]) job.ledBy(leadership);
  const system = createAdminSystem({
    database, config, version: VERSION, hostsRepo, drivers, soc, clock, log: app.log, instantVms: () => warmUp.component(),
    jobs: () => [billing.metering, reconciler, snapshotReconciler, collector, healthWatch, presence].map((job) => job.job),
    processes: { list: () => serverProcesses.list(), staleAfterMs: presence.staleAfterMs, self: processId },
  });

  // The DigitalOcean-compatible API (/v2): DO's shapes over the same services.
  const doCompat = createDoCompat({
    config, clock, vms, vmsRepo, actions, keys, images, imagesRepo, hostsRepo, metrics, alerts, billing: billing.service, ledger: ledgerService, users, tokens,
    snapshotsRepo: snapshots.repo,
  });

  const storageAlarm = new StorageAlarm();
  registerErrorHandling(app, { storageAlarm });
  registerEmptyBody(app);
  await app.register(fastifyCookie, { hook: false });
  await app.register(fastifyFormbody);
  // Before the guard: an address the SOC blocked on the control plane gets 403 address_blocked for
  // everything (API, pages, websockets, /health), before authentication runs.
  registerBlockedAddresses(app, { blocklist: soc.blocklist, events });
  registerGuard(app, { auth, events, csrfKey: secrets.csrfKey });
  // After the guard (it knows the caller), before the routes: one audit entry per admin action.
  audit.registerHook(app);
  // GET /metrics (Prometheus); its request counters see every route from here on.
  if (prometheus) registerHttpMetrics(app, prometheus);
  // This site's browser origins: the login/registration CSRF check and the terminal websocket use them.
  app.decorate('origins', new OriginPolicy({ publicUrl: config.publicUrl, host: config.host, port: () => config.port || portOf(app.server.address()) }));
  if (!config.publicUrl && ['0.0.0.0', '::'].includes(config.host)) {
    app.log.warn('TWARGA_PUBLIC_URL is not set: browsers must use one of this machine\'s IP addresses or its host name; set it when a DNS name or a proxy fronts the server');
  }
  const routes: RouteInfo[] = [];
  app.addHook('onRoute', (r) => {
    const config = r.config as { access: Access; audit?: boolean };
    for (const method of [r.method].flat()) routes.push({ method, url: r.url, access: config.access, ...(config.audit ? { audit: true } : {}) });
  });
  await app.register(fastifyRateLimit, {
    global: false,
    errorResponseBuilder: (_request, ctx) =>
      new AppError(429, 'rate_limited', `Too many requests: try again in ${Math.ceil(ctx.ttl / 1000)} s`),
    onExceeded: (request) => {
      void events.record({
        type: 'security',
        severity: 'warning',
        action: 'rate_limited',
        message: `Rate limit hit on ${request.method} ${request.url.split('?')[0]}`,
        sourceIp: request.ip,
      });
    },
  });
  // Before the websocket plugin's own preClose: sessions end with an exit message and are written down.
  app.addHook('preClose', async () => terminal.close());
  await app.register(fastifyWebsocket, { options: { maxPayload: 64 * 1024 } });
  await registerApiDocs(app, VERSION);

  await app.register(healthRoutes, { health: new HealthService({ database, version: VERSION, dataDir: config.dataDir, minFreeDiskMb: config.minFreeDiskMb, storageAlarm, log: app.log }) });
  await app.register(authRoutes, {
    auth,
    events,
    csrfKey: secrets.csrfKey,
    secureCookies: config.secureCookies,
    loginRateLimitPerMinute: config.loginRateLimitPerMinute,
    registerRateLimitPerHour: config.registerRateLimitPerHour,
  });
  await app.register(tokensRoutes, { tokens });
  await app.register(keysRoutes, { keys });
  await billing.register(app);
  await admin.register(app);
  await system.register(app);
  await audit.register(app);
  await app.register(vmsRoutes, { vms });
  await snapshots.register(app, vms);
  await app.register(imagesRoutes, { images, vms: vmsRepo });
  await app.register(streamRoutes, { bus, access: liveAccess, events });
  await app.register(terminalRoutes, { terminal, events });
  await app.register(hostsRoutes, { hosts, migration: new ColdMigrationService({ hosts: hostsRepo, drivers, vms, events, clock }) });
  await app.register(notificationsRoutes, { notifications });
  await app.register(metricsRoutes, { metrics, hostForUsers: config.hostMetricsForUsers });
  await app.register(alertsRoutes, { alerts });
  await soc.register(app);
  await doCompat.register(app);
  if (prometheus) await app.register(prometheusRoutes, { exporter: prometheus, access: config.prometheusAccess });
  await app.register(webRoutes, { webDir: config.webDir, events });

  app.addHook('onReady', async () => {
    await images.seedCatalog(clock.now().toISOString());
    // This machine is the first compute host; VMs from before hosts existed live on it.
    const local = await hosts.ensureDefault({ driver: config.defaultDriver, uri: config.libvirtUri });
    await vmsRepo.assignUnplaced(local.id);
    // Instant VMs: warm snapshots of the instant-capable images, built in the driver's background.
    await warmUp.prepare().catch((err: unknown) => app.log.warn({ err }, 'warm snapshots could not be prepared; creations boot cold'));
    // Deliveries a previous run left pending are sent now.
    await notifications.start();
  });
  app.addHook('onListen', async () => imageBuilder.start());
  app.addHook('onClose', async () => {
    reconciler.stop();
    snapshotReconciler.stop();
    billing.close();
    await soc.close();
    collector.stop();
    // Before the alert engine: a last health transition may still raise or clear an alert.
    healthWatch.stop();
    await healthWatch.idle();
    alertEngine.stop();
    await alertEngine.idle();
    await notifications.close();
    await ops.idle();
    await presence.stop();
    await images.close();
    await leadership.close();
  });

  return { app, routes, services: { soc, healthWatch, notifications, alerts, alertEngine, auth, events, tokens, keys, admin: admin.admin, billing, ledger: billing.ledgerRepo, vms, ops, images, reconciler, snapshots, snapshotReconciler, metering: billing.metering, drivers, hosts, bus, terminal, liveAccess, collector, metrics, imageBuilder } };
}
