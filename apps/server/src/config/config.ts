import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { LIBVIRT_POOL_PATTERN } from '@twarga/contract';
import { libvirtUriProblem } from '../lib/libvirt-uri.js';

/** Every setting, with its environment variable. The README's table mirrors this list. */
export const ConfigSchema = Type.Object(
  {
    dataDir: Type.String({ minLength: 1 }),
    host: Type.String({ minLength: 1 }),
    port: Type.Integer({ minimum: 0, maximum: 65535 }),
    databaseUrl: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
    adminUsername: Type.String({ pattern: '^[a-z][a-z0-9_-]{2,31}$' }),
    adminEmail: Type.String({ minLength: 3 }),
    adminPassword: Type.Optional(Type.String({ minLength: 10 })),
    logLevel: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l))),
    sessionTtlHours: Type.Number({ exclusiveMinimum: 0, maximum: 24 * 90 }),
    loginRateLimitPerMinute: Type.Integer({ minimum: 1 }),
    registerRateLimitPerHour: Type.Integer({ minimum: 1 }),
    lockoutThreshold: Type.Integer({ minimum: 1 }),
    lockoutMinutes: Type.Number({ exclusiveMinimum: 0 }),
    signupCredits: Type.Integer({ minimum: 0 }),
    allowRegistration: Type.Boolean(),
    trustProxy: Type.Boolean(),
    secureCookies: Type.Boolean(),
    webDir: Type.String(),
    tinyImageDir: Type.String(),
    accel: Type.Union([Type.Literal('auto'), Type.Literal('kvm'), Type.Literal('tcg')]),
    sshPortRange: Type.String({ pattern: '^[0-9]{2,5}-[0-9]{2,5}$' }),
    sshHost: Type.String({ minLength: 1 }),
    maxVmsPerUser: Type.Integer({ minimum: 0 }),
    maxRamPerUserMb: Type.Integer({ minimum: 0 }),
    maxVcpusPerUser: Type.Integer({ minimum: 0 }),
    reconcileSeconds: Type.Number({ minimum: 0.5, maximum: 300 }),
    /** How long a server process vouches for an action it runs; it renews every third of it. Past it, another process takes over. */
    actionLeaseSeconds: Type.Number({ minimum: 1.5, maximum: 600 }),
    metricsIntervalSeconds: Type.Number({ minimum: 1, maximum: 3600 }),
    metricsRawRetentionHours: Type.Number({ minimum: 1, maximum: 24 * 90 }),
    metricsMinuteRetentionDays: Type.Number({ minimum: 1, maximum: 365 }),
    metricsHourRetentionDays: Type.Number({ minimum: 1, maximum: 3650 }),
    /** Host metrics (API and live samples) for every signed-in user, not only admins. */
    hostMetricsForUsers: Type.Boolean(),
    /** GET /metrics (Prometheus): 'admin' needs an admin's token or session, 'loopback' answers 127.0.0.1/::1 only, 'off' has no route. */
    prometheusAccess: Type.Union([Type.Literal('admin'), Type.Literal('loopback'), Type.Literal('off')]),
    stopTimeoutSeconds: Type.Number({ minimum: 1, maximum: 3600 }),
    defaultDriver: Type.Union([Type.Literal('qemu'), Type.Literal('libvirt'), Type.Literal('vagrant')]),
    libvirtUri: Type.String({ pattern: '^qemu(\\+(ssh|tcp|tls|unix))?://' }),
    libvirtPrefix: Type.String({ pattern: '^[a-z][a-z0-9-]{0,30}-$' }),
    libvirtPool: Type.String({ pattern: LIBVIRT_POOL_PATTERN }),
    libvirtNetwork: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' }),
    terminalIdleSeconds: Type.Number({ minimum: 1, maximum: 7 * 86400 }),
    terminalMaxSeconds: Type.Number({ minimum: 1, maximum: 7 * 86400 }),
    terminalTicketSeconds: Type.Number({ minimum: 0.1, maximum: 600 }),
    terminalMaxSessionsPerUser: Type.Integer({ minimum: 1 }),
    recordingMaxBytes: Type.Integer({ minimum: 4096 }),
    recordingRetentionDays: Type.Number({ exclusiveMinimum: 0 }),
    /** The origin browsers use (scheme://host[:port]); Origin checks compare against it. */
    publicUrl: Type.Optional(Type.String({ pattern: '^https?://[^/?#]+$' })),
    /** Host names an admin image download may reach even when they resolve to a private address. */
    imageMirrorHosts: Type.String({ pattern: '^[A-Za-z0-9.,-]*$' }),
    minFreeDiskMb: Type.Integer({ minimum: 0 }),
    maxDiskGbPerUser: Type.Integer({ minimum: 0 }),
    maxTokensPerUser: Type.Integer({ minimum: 1 }),
    maxKeysPerUser: Type.Integer({ minimum: 1 }),
    /** The DigitalOcean-compatible API (/v2): requests per hour per user, like DO's 5,000. */
    doRateLimitPerHour: Type.Integer({ minimum: 1 }),
    /** Notifications: the SMTP server for e-mail channels (smtp[s]://user:pass@host:port); unset: e-mail deliveries fail. */
    smtpUrl: Type.Optional(Type.String({ pattern: '^smtps?://' })),
    smtpFrom: Type.String({ minLength: 3 }),
    /** Host names a webhook may reach even when they resolve to a private or loopback address. */
    webhookAllowHosts: Type.String({ pattern: '^[A-Za-z0-9.,-]*$' }),
    maxChannelsPerUser: Type.Integer({ minimum: 1 }),
    /** Each send attempt (SMTP or webhook) gives up after this long. */
    notificationTimeoutSeconds: Type.Number({ minimum: 0.1, maximum: 300 }),
    /** Waits before the 2nd, 3rd… attempt of a failed delivery ("5,30": 3 attempts); empty: no retry. */
    notificationRetrySeconds: Type.String({ pattern: '^([0-9]+(\\.[0-9]+)?(,[0-9]+(\\.[0-9]+)?)*)?$' }),
    /** Alerts: notifications of one policy and VM at most once per this many seconds (0: no cap). */
    alertNotifyMinIntervalSeconds: Type.Number({ minimum: 0, maximum: 7 * 86400 }),
    /** Alerts: resolve only when the window average is back past the threshold by this percentage of it. */
    alertHysteresisPercent: Type.Number({ minimum: 0, maximum: 50 }),
    maxAlertPoliciesPerUser: Type.Integer({ minimum: 1 }),
    /** VM health: no proof of life (guest agent, else SSH banner) this long after having had one: unresponsive. */
    healthUnresponsiveSeconds: Type.Number({ minimum: 1, maximum: 86400 }),
    /** VM health: not responsive this long after a start: the boot watchdog fires. */
    bootWatchdogSeconds: Type.Number({ minimum: 1, maximum: 86400 }),
    /** VM health: how often every running VM is judged (and SSH banners probed). */
    healthCheckSeconds: Type.Number({ minimum: 0.5, maximum: 3600 }),
    /** SOC: the address remote clients reach VMs' SSH on, through the SSH gateway (which sees their real address and enforces blocks); unset: VMs' SSH is on loopback only. */
    sshPublicAddress: Type.Optional(Type.String({ minLength: 2, maxLength: 64 })),
    /** SOC: a syslog receiver (UDP and TCP, RFC 3164/5424) at host:port for guests on bridged networks; empty: off (QEMU guests use their own channel). */
    syslogListen: Type.String({ pattern: '^$|^[0-9A-Fa-f.:\\[\\]]+:[0-9]{1,5}$' }),
    /** SOC: longer syslog lines are cut to this many bytes. */
    syslogMaxLineBytes: Type.Integer({ minimum: 256, maximum: 65536 }),
    /** SOC: lines per second one VM may send before its lines are dropped (and counted). */
    syslogLinesPerSecondPerVm: Type.Integer({ minimum: 1, maximum: 100000 }),
    /** SOC: events older than this are deleted (0: kept forever). */
    eventRetentionDays: Type.Number({ minimum: 0, maximum: 36500 }),
    /** SOC: a repeat offender's block doubles each time, up to this. */
    blockMaxSeconds: Type.Integer({ minimum: 60, maximum: 365 * 86400 }),
    /** SOC: earlier blocks of an address within this many days make it a repeat offender. */
    blockLookbackDays: Type.Number({ minimum: 0, maximum: 3650 }),
    /** SOC: a critical incident notifies admins (and the VM's owner) at most once per rule per this many seconds; held-back ones are counted in the next. */
    socNotifyMinIntervalSeconds: Type.Number({ minimum: 0, maximum: 7 * 86400 }),
    /** Billing: how often metering charges the hours that began (seconds). */
    meteringIntervalSeconds: Type.Number({ minimum: 1, maximum: 3600 }),
    /** Billing: a VM is charged at most this many hours per calendar month (DigitalOcean: 672, i.e. 28 days). */
    monthlyCapHours: Type.Integer({ minimum: 1, maximum: 744 }),
    /** Billing: balances (credits, comma-separated) whose crossing warns the user once, e.g. "500,100". */
    lowBalanceThresholds: Type.String({ pattern: '^$|^[0-9]{1,12}(,[0-9]{1,12})*$' }),
    /** Billing: hours between the balance reaching zero and the user's VMs being stopped. */
    billingGraceHours: Type.Number({ minimum: 0, maximum: 24 * 90 }),
    /** Billing: hours after suspension when a user's VMs are destroyed (0: never, the default). */
    billingDestroyAfterHours: Type.Number({ minimum: 0, maximum: 24 * 365 }),
    /** Snapshots one user may keep (an admin may override it per user). */
    maxSnapshotsPerUser: Type.Integer({ minimum: 0, maximum: 10_000 }),
    /** Snapshot storage price: credits per GB per month (charged per day, rounded so a month adds up exactly). */
    snapshotPriceGbMonth: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
    /** Instant VMs: creations restore a warm snapshot of their image instead of booting, when one is ready. */
    instantVms: Type.Boolean(),
    /** Instant VMs: size slugs whose warm snapshots are built at start for every instant-capable image (others on their first creation). */
    warmSizes: Type.String({ pattern: '^$|^[a-z0-9-]{1,64}(,[a-z0-9-]{1,64})*$' }),
    /** Debian 12 image: 'auto' builds it in the background after start when the cache lacks it; 'off' only imports a valid cache (an admin may still start a build). */
    imageBuild: Type.Union([Type.Literal('auto'), Type.Literal('off')]),
    /** Where built images are cached (shared by every data dir on this machine): images/debian/build.sh's cache root. */
    imageCacheDir: Type.String({ minLength: 1 }),
  },
  { additionalProperties: false },
);
export type Config = Static<typeof ConfigSchema>;

type EnvSpec = { key: keyof Config; env: string; kind: 'string' | 'int' | 'number' | 'bool' };
export const ENV_VARS: EnvSpec[] = [
  { key: 'dataDir', env: 'TWARGA_DATA_DIR', kind: 'string' },
  { key: 'host', env: 'TWARGA_HOST', kind: 'string' },
  { key: 'port', env: 'TWARGA_PORT', kind: 'int' },
  { key: 'databaseUrl', env: 'TWARGA_DATABASE_URL', kind: 'string' },
  { key: 'adminUsername', env: 'TWARGA_ADMIN_USERNAME', kind: 'string' },
  { key: 'adminEmail', env: 'TWARGA_ADMIN_EMAIL', kind: 'string' },
  { key: 'adminPassword', env: 'TWARGA_ADMIN_PASSWORD', kind: 'string' },
  { key: 'logLevel', env: 'TWARGA_LOG_LEVEL', kind: 'string' },
  { key: 'sessionTtlHours', env: 'TWARGA_SESSION_TTL_HOURS', kind: 'number' },
  { key: 'loginRateLimitPerMinute', env: 'TWARGA_LOGIN_RATE_LIMIT', kind: 'int' },
  { key: 'registerRateLimitPerHour', env: 'TWARGA_REGISTER_RATE_LIMIT', kind: 'int' },
  { key: 'lockoutThreshold', env: 'TWARGA_LOCKOUT_THRESHOLD', kind: 'int' },
  { key: 'lockoutMinutes', env: 'TWARGA_LOCKOUT_MINUTES', kind: 'number' },
  { key: 'signupCredits', env: 'TWARGA_SIGNUP_CREDITS', kind: 'int' },
  { key: 'allowRegistration', env: 'TWARGA_ALLOW_REGISTRATION', kind: 'bool' },
  { key: 'trustProxy', env: 'TWARGA_TRUST_PROXY', kind: 'bool' },
  { key: 'secureCookies', env: 'TWARGA_SECURE_COOKIES', kind: 'bool' },
  { key: 'webDir', env: 'TWARGA_WEB_DIR', kind: 'string' },
  { key: 'tinyImageDir', env: 'TWARGA_TINY_IMAGE_DIR', kind: 'string' },
  { key: 'accel', env: 'TWARGA_ACCEL', kind: 'string' },
  { key: 'sshPortRange', env: 'TWARGA_SSH_PORTS', kind: 'string' },
  { key: 'sshHost', env: 'TWARGA_SSH_HOST', kind: 'string' },
  { key: 'maxVmsPerUser', env: 'TWARGA_MAX_VMS_PER_USER', kind: 'int' },
  { key: 'maxRamPerUserMb', env: 'TWARGA_MAX_RAM_PER_USER_MB', kind: 'int' },
  { key: 'maxVcpusPerUser', env: 'TWARGA_MAX_VCPUS_PER_USER', kind: 'int' },
  { key: 'reconcileSeconds', env: 'TWARGA_RECONCILE_SECONDS', kind: 'number' },
  { key: 'actionLeaseSeconds', env: 'TWARGA_ACTION_LEASE_SECONDS', kind: 'number' },
  { key: 'metricsIntervalSeconds', env: 'TWARGA_METRICS_INTERVAL_SECONDS', kind: 'number' },
  { key: 'metricsRawRetentionHours', env: 'TWARGA_METRICS_RAW_RETENTION_HOURS', kind: 'number' },
  { key: 'metricsMinuteRetentionDays', env: 'TWARGA_METRICS_MINUTE_RETENTION_DAYS', kind: 'number' },
  { key: 'metricsHourRetentionDays', env: 'TWARGA_METRICS_HOUR_RETENTION_DAYS', kind: 'number' },
  { key: 'hostMetricsForUsers', env: 'TWARGA_HOST_METRICS_FOR_USERS', kind: 'bool' },
  { key: 'prometheusAccess', env: 'TWARGA_PROMETHEUS_ACCESS', kind: 'string' },
  { key: 'stopTimeoutSeconds', env: 'TWARGA_STOP_TIMEOUT_SECONDS', kind: 'number' },
  { key: 'defaultDriver', env: 'TWARGA_DEFAULT_DRIVER', kind: 'string' },
  { key: 'libvirtUri', env: 'TWARGA_LIBVIRT_URI', kind: 'string' },
  { key: 'libvirtPrefix', env: 'TWARGA_LIBVIRT_PREFIX', kind: 'string' },
  { key: 'libvirtPool', env: 'TWARGA_LIBVIRT_POOL', kind: 'string' },
  { key: 'libvirtNetwork', env: 'TWARGA_LIBVIRT_NETWORK', kind: 'string' },
  { key: 'terminalIdleSeconds', env: 'TWARGA_TERMINAL_IDLE_SECONDS', kind: 'number' },
  { key: 'terminalMaxSeconds', env: 'TWARGA_TERMINAL_MAX_SECONDS', kind: 'number' },
  { key: 'terminalTicketSeconds', env: 'TWARGA_TERMINAL_TICKET_SECONDS', kind: 'number' },
  { key: 'terminalMaxSessionsPerUser', env: 'TWARGA_TERMINAL_MAX_SESSIONS', kind: 'int' },
  { key: 'recordingMaxBytes', env: 'TWARGA_RECORDING_MAX_BYTES', kind: 'int' },
  { key: 'recordingRetentionDays', env: 'TWARGA_RECORDING_RETENTION_DAYS', kind: 'number' },
  { key: 'publicUrl', env: 'TWARGA_PUBLIC_URL', kind: 'string' },
  { key: 'imageMirrorHosts', env: 'TWARGA_IMAGE_MIRROR_HOSTS', kind: 'string' },
  { key: 'minFreeDiskMb', env: 'TWARGA_MIN_FREE_DISK_MB', kind: 'int' },
  { key: 'maxDiskGbPerUser', env: 'TWARGA_MAX_DISK_GB_PER_USER', kind: 'int' },
  { key: 'maxTokensPerUser', env: 'TWARGA_MAX_TOKENS_PER_USER', kind: 'int' },
  { key: 'maxKeysPerUser', env: 'TWARGA_MAX_KEYS_PER_USER', kind: 'int' },
  { key: 'doRateLimitPerHour', env: 'TWARGA_DO_RATE_LIMIT_PER_HOUR', kind: 'int' },
  { key: 'smtpUrl', env: 'TWARGA_SMTP_URL', kind: 'string' },
  { key: 'smtpFrom', env: 'TWARGA_SMTP_FROM', kind: 'string' },
  { key: 'webhookAllowHosts', env: 'TWARGA_WEBHOOK_ALLOW_HOSTS', kind: 'string' },
  { key: 'maxChannelsPerUser', env: 'TWARGA_MAX_CHANNELS_PER_USER', kind: 'int' },
  { key: 'notificationTimeoutSeconds', env: 'TWARGA_NOTIFICATION_TIMEOUT_SECONDS', kind: 'number' },
  { key: 'notificationRetrySeconds', env: 'TWARGA_NOTIFICATION_RETRY_SECONDS', kind: 'string' },
  { key: 'alertNotifyMinIntervalSeconds', env: 'TWARGA_ALERT_NOTIFY_MIN_INTERVAL_SECONDS', kind: 'number' },
  { key: 'alertHysteresisPercent', env: 'TWARGA_ALERT_HYSTERESIS_PERCENT', kind: 'number' },
  { key: 'maxAlertPoliciesPerUser', env: 'TWARGA_MAX_ALERT_POLICIES_PER_USER', kind: 'int' },
  { key: 'healthUnresponsiveSeconds', env: 'TWARGA_HEALTH_UNRESPONSIVE_SECONDS', kind: 'number' },
  { key: 'bootWatchdogSeconds', env: 'TWARGA_BOOT_WATCHDOG_SECONDS', kind: 'number' },
  { key: 'healthCheckSeconds', env: 'TWARGA_HEALTH_CHECK_SECONDS', kind: 'number' },
  { key: 'sshPublicAddress', env: 'TWARGA_SSH_PUBLIC_ADDRESS', kind: 'string' },
  { key: 'syslogListen', env: 'TWARGA_SYSLOG_LISTEN', kind: 'string' },
  { key: 'syslogMaxLineBytes', env: 'TWARGA_SYSLOG_MAX_LINE_BYTES', kind: 'int' },
  { key: 'syslogLinesPerSecondPerVm', env: 'TWARGA_SYSLOG_LINES_PER_SECOND', kind: 'int' },
  { key: 'eventRetentionDays', env: 'TWARGA_EVENT_RETENTION_DAYS', kind: 'number' },
  { key: 'blockMaxSeconds', env: 'TWARGA_BLOCK_MAX_SECONDS', kind: 'int' },
  { key: 'blockLookbackDays', env: 'TWARGA_BLOCK_LOOKBACK_DAYS', kind: 'number' },
  { key: 'socNotifyMinIntervalSeconds', env: 'TWARGA_SOC_NOTIFY_MIN_INTERVAL_SECONDS', kind: 'number' },
  { key: 'meteringIntervalSeconds', env: 'TWARGA_METERING_INTERVAL_SECONDS', kind: 'number' },
  { key: 'monthlyCapHours', env: 'TWARGA_MONTHLY_CAP_HOURS', kind: 'int' },
  { key: 'lowBalanceThresholds', env: 'TWARGA_LOW_BALANCE_THRESHOLDS', kind: 'string' },
  { key: 'billingGraceHours', env: 'TWARGA_BILLING_GRACE_HOURS', kind: 'number' },
  { key: 'billingDestroyAfterHours', env: 'TWARGA_BILLING_DESTROY_AFTER_HOURS', kind: 'number' },
  { key: 'maxSnapshotsPerUser', env: 'TWARGA_MAX_SNAPSHOTS_PER_USER', kind: 'int' },
  { key: 'snapshotPriceGbMonth', env: 'TWARGA_SNAPSHOT_PRICE_GB_MONTH', kind: 'int' },
  { key: 'instantVms', env: 'TWARGA_INSTANT_VMS', kind: 'bool' },
  { key: 'warmSizes', env: 'TWARGA_WARM_SIZES', kind: 'string' },
  { key: 'imageBuild', env: 'TWARGA_IMAGE_BUILD', kind: 'string' },
  { key: 'imageCacheDir', env: 'TWARGA_IMAGE_CACHE', kind: 'string' },
];

const here = path.dirname(fileURLToPath(import.meta.url));

export function defaultConfig(cwd = process.cwd()): Config {
  return {
    dataDir: path.resolve(cwd, 'data'),
    host: '127.0.0.1',
    port: 8080,
    adminUsername: 'admin',
    adminEmail: 'admin@twarga.local',
    logLevel: 'info',
    sessionTtlHours: 12,
    loginRateLimitPerMinute: 10,
    registerRateLimitPerHour: 20,
    lockoutThreshold: 5,
    lockoutMinutes: 15,
    signupCredits: 1000,
    allowRegistration: true,
    trustProxy: false,
    secureCookies: false,
    // src/config or dist/config → apps/web/dist
    webDir: path.resolve(here, '../../../web/dist'),
    // built by scripts/setup.sh
    tinyImageDir: path.resolve(here, '../../../../images/tiny/dist'),
    accel: 'auto',
    sshPortRange: '22000-22999',
    sshHost: '127.0.0.1',
    maxVmsPerUser: 5,
    maxRamPerUserMb: 8192,
    maxVcpusPerUser: 8,
    reconcileSeconds: 3,
    actionLeaseSeconds: 15,
    metricsIntervalSeconds: 5,
    metricsRawRetentionHours: 24,
    metricsMinuteRetentionDays: 7,
    metricsHourRetentionDays: 90,
    hostMetricsForUsers: false,
    prometheusAccess: 'admin',
    stopTimeoutSeconds: 60,
    defaultDriver: 'qemu',
    libvirtUri: 'qemu:///system',
    libvirtPrefix: 'twarga-',
    libvirtPool: 'twarga',
    libvirtNetwork: 'default',
    terminalIdleSeconds: 15 * 60,
    terminalMaxSeconds: 8 * 3600,
    terminalTicketSeconds: 30,
    terminalMaxSessionsPerUser: 10,
    recordingMaxBytes: 10 * 1024 * 1024,
    recordingRetentionDays: 30,
    imageMirrorHosts: '',
    minFreeDiskMb: 2048,
    maxDiskGbPerUser: 200,
    maxTokensPerUser: 25,
    maxKeysPerUser: 25,
    doRateLimitPerHour: 5000,
    smtpFrom: 'Twarga Cloud <twarga@localhost>',
    webhookAllowHosts: '',
    maxChannelsPerUser: 10,
    notificationTimeoutSeconds: 10,
    notificationRetrySeconds: '5,30',
    alertNotifyMinIntervalSeconds: 600,
    alertHysteresisPercent: 5,
    maxAlertPoliciesPerUser: 50,
    healthUnresponsiveSeconds: 30,
    // Software emulation (no KVM) boots a cloud image in one to two minutes.
    bootWatchdogSeconds: 180,
    healthCheckSeconds: 5,
    syslogListen: '',
    syslogMaxLineBytes: 8192,
    syslogLinesPerSecondPerVm: 200,
    eventRetentionDays: 365,
    blockMaxSeconds: 7 * 86400,
    blockLookbackDays: 30,
    socNotifyMinIntervalSeconds: 300,
    meteringIntervalSeconds: 60,
    monthlyCapHours: 672,
    lowBalanceThresholds: '500,100',
    billingGraceHours: 24,
    billingDestroyAfterHours: 0,
    maxSnapshotsPerUser: 10,
    snapshotPriceGbMonth: 10,
    instantVms: true,
    warmSizes: 's-1vcpu-256mb',
    imageBuild: 'auto',
    imageCacheDir: defaultImageCacheDir(),
  };
}

/**
 * The same default as images/debian/build.sh: /var/cache/twarga/images when this user may write
 * there (it or its nearest existing parent is writable), else the user's cache directory.
 */
export function defaultImageCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const system = '/var/cache/twarga/images';
  for (let dir = system; ; dir = path.dirname(dir)) {
    if (existsSync(dir)) {
      try {
        accessSync(dir, constants.W_OK);
        return system;
      } catch {
        break;
      }
    }
    if (dir === path.dirname(dir)) break;
  }
  const home = env.HOME ?? os.homedir();
  return path.join(env.XDG_CACHE_HOME || path.join(home, '.cache'), 'twarga', 'images');
}

export class ConfigError extends Error {}

function parseValue(spec: EnvSpec, raw: string): unknown {
  switch (spec.kind) {
    case 'string':
      return raw;
    case 'int':
    case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) throw new ConfigError(`${spec.env} must be a number, got "${raw}"`);
      return n;
    }
    case 'bool':
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      throw new ConfigError(`${spec.env} must be true or false, got "${raw}"`);
  }
}

/**
 * Defaults, then the optional JSON config file (TWARGA_CONFIG, else <dataDir>/config.json),
 * then environment variables. Invalid settings stop the start with a message naming them.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const fromEnv: Partial<Record<keyof Config, unknown>> = {};
  for (const spec of ENV_VARS) {
    const raw = env[spec.env];
    if (raw !== undefined && raw !== '') fromEnv[spec.key] = parseValue(spec, raw);
  }
  const base = defaultConfig();
  const dataDir = path.resolve(String(overrides.dataDir ?? fromEnv.dataDir ?? base.dataDir));
  const file = env.TWARGA_CONFIG ? path.resolve(env.TWARGA_CONFIG) : path.join(dataDir, 'config.json');
  let fromFile: Record<string, unknown> = {};
  if (existsSync(file)) {
    try {
      fromFile = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new ConfigError(`config file ${file} is not valid JSON: ${(err as Error).message}`);
    }
  } else if (env.TWARGA_CONFIG) {
    throw new ConfigError(`config file ${file} (TWARGA_CONFIG) does not exist`);
  }
  const merged = { ...base, ...fromFile, ...fromEnv, ...overrides, dataDir };
  if (!Value.Check(ConfigSchema, merged)) {
    const problems = [...Value.Errors(ConfigSchema, merged)].map((e) => {
      const key = e.path.replace(/^\//, '');
      const envName = ENV_VARS.find((s) => s.key === key)?.env;
      return `${key}${envName ? ` (${envName})` : ''}: ${e.message}`;
    });
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  // The same rule as for hosts an admin adds: no URI parameters that run programs.
  const uriProblem = libvirtUriProblem(merged.libvirtUri);
  if (uriProblem) throw new ConfigError(`invalid configuration:\n  libvirtUri (TWARGA_LIBVIRT_URI): ${uriProblem}`);
  return merged;
}
