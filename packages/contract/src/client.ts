import type { ErrorBody, Health } from './common.js';
import type {
  ChangePasswordRequest,
  CookieLoginResponse,
  BearerLoginResponse,
  RegisterRequest,
  User,
} from './auth.js';
import type {
  ApiToken,
  CreateSshKeyRequest,
  CreateTokenRequest,
  CreatedApiToken,
  LedgerEntry,
  RevokedTokens,
  SshKey,
} from './account.js';
import type { AdjustCreditsRequest, AdjustCreditsResponse, AdminUser, UpdateUserRequest } from './admin.js';
import { CSRF_HEADER } from './constants.js';
import type { ComputeHost, ComputeHostDetail, CreateHostRequest, MigrateVmRequest, UpdateHostRequest } from './hosts.js';
import type { Alert, AlertPolicy, AlertsQuery, CreateAlertPolicyRequest, UpdateAlertPolicyRequest } from './alerts.js';
import type { HostMetrics, MetricsCleanupResult, MetricsCollectResult, MetricsHistory, VmMetrics } from './metrics.js';
import type { CreateChannelRequest, CreatedChannel, DeliveriesQuery, NotificationChannel, NotificationDelivery, UpdateChannelRequest } from './notifications.js';
import type { EndedSessions, StartTerminalRequest, TerminalSession, TerminalTicket, VmTerminalSessions } from './terminal.js';
import type { Event } from './events.js';
import type { BlockQuery, CreateSocBlock, IncidentAction, IncidentBlockRequest, IncidentQuery, SocBlock, SocEventDetail, SocEventQuery, SocExportFormat, SocIncident, SocIncidentDetail, SocRule, SocStatistics, UpdateSocRule } from './soc.js';
import type { CreateSnapshotRequest, Snapshot, SnapshotList } from './snapshots.js';
import type { Action, ActionLog, CreateVmRequest, CreatedVm, Image, RegisterImageRequest, Size, Vm, VmActionRequest, VmStats, VmStatusResponse } from './vms.js';

/** Thrown for every non-2xx answer; carries the server's error body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
  ) {
    super(body.message);
    this.name = 'ApiError';
  }
  get code(): string {
    return this.body.code;
  }
}

export interface ApiClientOptions {
  /** Base URL such as http://127.0.0.1:8080; '' for same-origin (the web UI). */
  baseUrl?: string;
  /** Bearer token (session or personal API token). Omit to rely on the session cookie. */
  token?: string;
  /** Returns the CSRF token for cookie-authenticated writes (the web UI reads its cookie). */
  csrfToken?: () => string | undefined;
  fetch?: typeof fetch;
}

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/** A history query: metric names (sent comma-separated), a range (1h|6h|24h|7d|30d) or from/to, and a step in seconds. */
export interface HistoryParams {
  metric: readonly string[];
  range?: string;
  from?: string;
  to?: string;
  step?: number;
}

const historyParams = ({ metric, ...rest }: HistoryParams) => ({ metric: metric.join(','), ...rest });

/** "?a=1&b=x" from the defined values ('' when none). */
function query(params: object): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) qs.set(k, String(v));
  const s = qs.toString();
  return s ? `?${s}` : '';
}

/** Typed client for the Twarga Cloud REST API, shared by the web UI, the CLI and tests. */
export class ApiClient {
  private readonly baseUrl: string;
  private readonly doFetch: typeof fetch;

  constructor(private readonly options: ApiClientOptions = {}) {
    this.baseUrl = (options.baseUrl ?? '').replace(/\/$/, '');
    this.doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  async request<T>(method: Method, path: string, body?: unknown): Promise<T> {
    return (await this.exchange<T>(method, path, body)).body;
  }

  /** Like request, with the answer's headers too (a page's X-Next-Cursor). */
  async exchange<T>(method: Method, path: string, body?: unknown): Promise<{ body: T; headers: Headers }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    const csrf = method === 'GET' ? undefined : this.options.csrfToken?.();
    if (csrf) headers[CSRF_HEADER] = csrf;
    const res = await this.doFetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
    if (res.status === 204) return { body: undefined as T, headers: res.headers };
    const text = await res.text();
    const parsed: unknown = text ? JSON.parse(text) : undefined;
    if (!res.ok) {
      const err = (parsed ?? {}) as Partial<ErrorBody>;
      throw new ApiError(res.status, {
        code: err.code ?? 'http_' + res.status,
        message: err.message ?? res.statusText,
        request_id: err.request_id ?? '',
        details: err.details,
      });
    }
    return { body: parsed as T, headers: res.headers };
  }

  /** GET for a non-JSON body (recordings); errors still carry the JSON error body. */
  async requestText(path: string): Promise<string> {
    const headers: Record<string, string> = {};
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    const res = await this.doFetch(`${this.baseUrl}${path}`, { headers, credentials: 'same-origin' });
    const text = await res.text();
    if (!res.ok) {
      let err: Partial<ErrorBody> = {};
      try {
        err = JSON.parse(text) as Partial<ErrorBody>;
      } catch {
        /* not JSON */
      }
      throw new ApiError(res.status, { code: err.code ?? 'http_' + res.status, message: err.message ?? res.statusText, request_id: err.request_id ?? '' });
    }
    return text;
  }

  health = () => this.request<Health>('GET', '/health');

  auth = {
    register: (body: RegisterRequest) => this.request<User>('POST', '/api/auth/register', body),
    login: (username: string, password: string) =>
      this.request<BearerLoginResponse>('POST', '/api/auth/login', { username, password }),
    loginWithCookie: (username: string, password: string) =>
      this.request<CookieLoginResponse>('POST', '/api/auth/login', { username, password, cookie: true }),
    logout: () => this.request<void>('POST', '/api/auth/logout'),
    me: () => this.request<User>('GET', '/api/auth/me'),
    changePassword: (body: ChangePasswordRequest) => this.request<void>('POST', '/api/auth/password', body),
  };

  account = {
    ledger: () => this.request<LedgerEntry[]>('GET', '/api/account/ledger'),
    tokens: {
      list: () => this.request<ApiToken[]>('GET', '/api/account/tokens'),
      create: (body: CreateTokenRequest) => this.request<CreatedApiToken>('POST', '/api/account/tokens', body),
      revoke: (id: number) => this.request<void>('DELETE', `/api/account/tokens/${id}`),
      revokeAll: () => this.request<RevokedTokens>('DELETE', '/api/account/tokens'),
    },
    keys: {
      list: () => this.request<SshKey[]>('GET', '/api/account/keys'),
      get: (id: number) => this.request<SshKey>('GET', `/api/account/keys/${id}`),
      create: (body: CreateSshKeyRequest) => this.request<SshKey>('POST', '/api/account/keys', body),
      remove: (id: number) => this.request<void>('DELETE', `/api/account/keys/${id}`),
    },
  };

  vms = {
    list: () => this.request<Vm[]>('GET', '/api/vms'),
    get: (id: number) => this.request<Vm>('GET', `/api/vms/${id}`),
    create: (body: CreateVmRequest) => this.request<CreatedVm>('POST', '/api/vms', body),
    action: (id: number, body: VmActionRequest) => this.request<Action>('POST', `/api/vms/${id}/action`, body),
    status: (id: number) => this.request<VmStatusResponse>('GET', `/api/vms/${id}/status`),
    actions: (id: number) => this.request<Action[]>('GET', `/api/vms/${id}/actions`),
    stats: (id: number) => this.request<VmStats>('GET', `/api/vms/${id}/stats`),
    /** This VM's snapshots, newest first (quota and price included). */
    snapshots: (id: number) => this.request<SnapshotList>('GET', `/api/vms/${id}/snapshots`),
    /** Same as action {action: 'snapshot', name, memory}. */
    snapshot: (id: number, body: CreateSnapshotRequest = {}) => this.request<Action>('POST', `/api/vms/${id}/snapshots`, body),
  };

  snapshots = {
    list: () => this.request<SnapshotList>('GET', '/api/snapshots'),
    get: (id: number) => this.request<Snapshot>('GET', `/api/snapshots/${id}`),
    remove: (id: number) => this.request<void>('DELETE', `/api/snapshots/${id}`),
  };

  actions = {
    get: (id: number) => this.request<Action>('GET', `/api/actions/${id}`),
    log: (id: number) => this.request<ActionLog>('GET', `/api/actions/${id}/log`),
  };

  terminal = {
    /** A single-use ticket for the websocket (see terminal-protocol.ts). */
    start: (vmId: number, body: StartTerminalRequest = {}) => this.request<TerminalTicket>('POST', `/api/terminal/start/${vmId}`, body),
    /** Ends the caller's live sessions on the VM (every session for the VM's owner or an admin). */
    stop: (vmId: number) => this.request<EndedSessions>('DELETE', `/api/terminal/stop/${vmId}`),
    forVm: (vmId: number) => this.request<VmTerminalSessions>('GET', `/api/terminal/session/${vmId}`),
    /** Live sessions: your own and those on your VMs; every one for an admin. */
    live: () => this.request<TerminalSession[]>('GET', '/api/terminal/sessions'),
    end: (sessionId: number) => this.request<void>('DELETE', `/api/terminal/sessions/${sessionId}`),
    /** The session's asciicast v2 recording as text. */
    recording: (sessionId: number) => this.requestText(`/api/terminal/recordings/${sessionId}`),
  };

  images = {
    list: () => this.request<Image[]>('GET', '/api/images'),
  };

  sizes = {
    list: () => this.request<Size[]>('GET', '/api/sizes'),
  };

  metrics = {
    host: () => this.request<HostMetrics>('GET', '/api/metrics/host'),
    hostHistory: (q: HistoryParams) => this.request<MetricsHistory>('GET', `/api/metrics/host/history${query(historyParams(q))}`),
    vm: (id: number) => this.request<VmMetrics>('GET', `/api/metrics/vm/${id}`),
    vmHistory: (id: number, q: HistoryParams) => this.request<MetricsHistory>('GET', `/api/metrics/vm/${id}/history${query(historyParams(q))}`),
    alerts: (q: AlertsQuery = {}) => this.request<Alert[]>('GET', `/api/metrics/alerts${query(q)}`),
    collect: () => this.request<MetricsCollectResult>('POST', '/api/metrics/collect'),
    cleanup: () => this.request<MetricsCleanupResult>('DELETE', '/api/metrics/cleanup'),
  };

  alerts = {
    policies: {
      list: () => this.request<AlertPolicy[]>('GET', '/api/alerts/policies'),
      get: (id: number) => this.request<AlertPolicy>('GET', `/api/alerts/policies/${id}`),
      create: (body: CreateAlertPolicyRequest) => this.request<AlertPolicy>('POST', '/api/alerts/policies', body),
      update: (id: number, body: UpdateAlertPolicyRequest) => this.request<AlertPolicy>('PATCH', `/api/alerts/policies/${id}`, body),
      remove: (id: number) => this.request<void>('DELETE', `/api/alerts/policies/${id}`),
    },
  };

  notifications = {
    channels: {
      list: () => this.request<NotificationChannel[]>('GET', '/api/notifications/channels'),
      get: (id: number) => this.request<NotificationChannel>('GET', `/api/notifications/channels/${id}`),
      create: (body: CreateChannelRequest) => this.request<CreatedChannel>('POST', '/api/notifications/channels', body),
      update: (id: number, body: UpdateChannelRequest) => this.request<NotificationChannel>('PATCH', `/api/notifications/channels/${id}`, body),
      remove: (id: number) => this.request<void>('DELETE', `/api/notifications/channels/${id}`),
      /** Sends a test notification now; returns its delivery. */
      test: (id: number) => this.request<NotificationDelivery>('POST', `/api/notifications/channels/${id}/test`),
      /** A new webhook signing secret, shown this once. */
      rotateSecret: (id: number) => this.request<CreatedChannel>('POST', `/api/notifications/channels/${id}/rotate-secret`),
    },
    deliveries: (q: DeliveriesQuery = {}) => this.request<NotificationDelivery[]>('GET', `/api/notifications/deliveries${query(q)}`),
  };

  soc = {
    /** One page of events, newest first; nextCursor (X-Next-Cursor) fetches the page after it, null at the end. */
    events: async (q: SocEventQuery = {}): Promise<{ events: Event[]; nextCursor: string | null }> => {
      const { body, headers } = await this.exchange<Event[]>('GET', `/api/soc/events${query(q)}`);
      return { events: body, nextCursor: headers.get('x-next-cursor') || null };
    },
    event: (id: number) => this.request<SocEventDetail>('GET', `/api/soc/events/${id}`),
    /** The export's URL (a download: the web UI links to it, scripts fetch it with their token). */
    exportUrl: (format: SocExportFormat, q: Omit<SocEventQuery, 'limit' | 'cursor'> = {}) => `${this.baseUrl}/api/soc/events/export${query({ format, ...q })}`,
    statistics: () => this.request<SocStatistics>('GET', '/api/soc/statistics'),
    incidents: {
      list: (q: IncidentQuery = {}) => this.request<SocIncident[]>('GET', `/api/soc/incidents${query(q)}`),
      get: (id: number) => this.request<SocIncidentDetail>('GET', `/api/soc/incidents/${id}`),
      act: (id: number, body: IncidentAction) => this.request<SocIncidentDetail>('POST', `/api/soc/incidents/${id}/actions`, body),
      block: (id: number, body: IncidentBlockRequest) => this.request<SocBlock>('POST', `/api/soc/incidents/${id}/block`, body),
    },
    rules: {
      list: () => this.request<SocRule[]>('GET', '/api/soc/rules'),
      update: (id: string, body: UpdateSocRule) => this.request<SocRule>('PATCH', `/api/soc/rules/${id}`, body),
    },
    blocks: {
      list: (q: BlockQuery = {}) => this.request<SocBlock[]>('GET', `/api/soc/blocks${query(q)}`),
      create: (body: CreateSocBlock) => this.request<SocBlock>('POST', '/api/soc/blocks', body),
      lift: (id: number) => this.request<void>('DELETE', `/api/soc/blocks/${id}`),
    },
  };

  admin = {
    hosts: {
      list: () => this.request<ComputeHost[]>('GET', '/api/admin/hosts'),
      get: (id: number) => this.request<ComputeHostDetail>('GET', `/api/admin/hosts/${id}`),
      /** Cold migration of a stopped VM to another host: its `migrate` action (copies the volumes, then re-defines the VM there). */
      migrateVm: (vmId: number, body: MigrateVmRequest) => this.request<Action>('POST', `/api/admin/vms/${vmId}/migrate`, body),
      create: (body: CreateHostRequest) => this.request<ComputeHost>('POST', '/api/admin/hosts', body),
      update: (id: number, body: UpdateHostRequest) => this.request<ComputeHost>('PATCH', `/api/admin/hosts/${id}`, body),
      remove: (id: number) => this.request<void>('DELETE', `/api/admin/hosts/${id}`),
    },
    registerImage: (body: RegisterImageRequest) => this.request<Image>('POST', '/api/admin/images', body),
    downloadImage: (slug: string) => this.request<Image>('POST', `/api/admin/images/${slug}/download`),
    buildImage: (slug: string) => this.request<Image>('POST', `/api/admin/images/${slug}/build`),
    deleteImage: (slug: string) => this.request<void>('DELETE', `/api/admin/images/${slug}`),
    users: () => this.request<AdminUser[]>('GET', '/api/admin/users'),
    updateUser: (id: number, body: UpdateUserRequest) =>
      this.request<AdminUser>('PATCH', `/api/admin/users/${id}`, body),
    adjustCredits: (id: number, body: AdjustCreditsRequest) =>
      this.request<AdjustCreditsResponse>('POST', `/api/admin/users/${id}/credits`, body),
  };
}
