import type { CreateChannelRequest, CreatedChannel, DeliveriesQuery, EventCode, NotificationChannel, NotificationDelivery, UpdateChannelRequest } from '@twarga/contract';
import { Mutex } from 'async-mutex';
import type { ExclusiveLock } from '../../lib/cluster-lock.js';
import type { FastifyBaseLogger } from 'fastify';
import { badRequest, notFound, quotaExceeded } from '../../http/errors.js';
import { checkedAddresses, DownloadRefused, type FetchPolicy } from '../../lib/guarded-fetch.js';
import { Periodic } from '../../lib/periodic.js';
import { seal, unseal } from '../../lib/seal.js';
import type { Clock } from '../../lib/time.js';
import type { Identity, RequestContext } from '../auth/identity.js';
import type { EventLog } from '../events/event-log.js';
import { checkEmail, checkName, checkWebhookUrl } from './channel-input.js';
import type { ChannelPatch, ChannelRecord, ChannelsRepository } from './channels.repository.js';
import type { DeliveriesRepository } from './deliveries.repository.js';
import { DeliveryQueue } from './delivery-queue.js';
import type { Notification, Notifier } from './notification.js';
import { newWebhookSecret } from './payloads.js';
import type { Senders } from './senders.js';

export interface NotificationsPolicy {
  maxChannelsPerUser: number;
  /** Each attempt's deadline; "send test" waits a little longer than this for its first attempt. */
  timeoutMs: number;
  retryDelaysMs: number[];
  /** Finished deliveries are kept this long (ms). */
  retentionMs?: number;
}

export interface NotificationsDeps {
  channels: ChannelsRepository;
  deliveries: DeliveriesRepository;
  senders: Pick<Senders, 'send' | 'close'>;
  /** The same policy the webhook sender uses: creation and every send are judged alike. */
  webhookPolicy: FetchPolicy;
  /** secrets.json's notificationKey: seals webhook secrets at rest. */
  sealKey: string;
  events: EventLog;
  clock: Clock;
  log: FastifyBaseLogger;
  policy: NotificationsPolicy;
  /** Serialises count-then-insert of channels (across server processes: ClusterLocks). */
  admission?: ExclusiveLock;
}

const DAY_MS = 86_400_000;
const view = ({ secret_enc: _secret, ...channel }: ChannelRecord): NotificationChannel => channel;

/**
 * Users' notification channels (e-mail, webhooks) and the delivery of notifications to them.
 * `notify` only writes delivery rows and hands them to the background queue: it never throws
 * and never waits for SMTP or HTTP, so the alert evaluator, the collector and billing never stall.
 */
export class NotificationsService implements Notifier {
  private readonly admission: ExclusiveLock;
  private readonly queue: DeliveryQueue;
  private readonly pruner: Periodic;

  constructor(private readonly deps: NotificationsDeps) {
    this.admission = deps.admission ?? new Mutex();
    this.queue = new DeliveryQueue({
      channels: deps.channels,
      deliveries: deps.deliveries,
      senders: deps.senders,
      secretOf: (c) => (c.secret_enc ? unseal(deps.sealKey, c.secret_enc) : null),
      events: deps.events,
      clock: deps.clock,
      log: deps.log,
      retryDelaysMs: deps.policy.retryDelaysMs,
    });
    this.pruner = new Periodic('notification deliveries cleanup', () => this.prune(), deps.log);
  }

  /** Resumes deliveries a previous run left pending, and starts the log's cleanup. */
  async start(): Promise<void> {
    const resumed = await this.queue.resume();
    if (resumed > 0) this.deps.log.info({ resumed }, 'resuming pending notification deliveries');
    await this.pruner.run();
    this.pruner.start(6 * 3600_000);
  }

  async close(): Promise<void> {
    this.pruner.stop();
    await this.queue.close();
  }

  /** Resolves when every delivery under way has finished (tests). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  async notify(n: Notification): Promise<void> {
    try {
      const channels = await this.deps.channels.enabledFor(n.userId, n.channelIds);
      await this.queueFor(channels, n);
    } catch (err) {
      this.deps.log.error({ err, topic: n.topic }, 'could not queue a notification');
    }
  }

  /** The ids among channelIds that are not this user's channels (alert policies may name only their owner's). */
  async notOwnedBy(userId: number, channelIds: number[]): Promise<number[]> {
    const mine = new Set((await this.deps.channels.listForUser(userId)).map((c) => c.id));
    return channelIds.filter((id) => !mine.has(id));
  }

  list(identity: Identity): Promise<NotificationChannel[]> {
    return this.deps.channels.listForUser(identity.user.id).then((rows) => rows.map(view));
  }

  async get(identity: Identity, id: number): Promise<NotificationChannel> {
    return view(await this.own(identity, id));
  }

  async create(identity: Identity, input: CreateChannelRequest, ctx: RequestContext): Promise<CreatedChannel> {
    const name = checkName(input.name);
    let fields: { email: string | null; url: string | null; format: 'json' | 'slack' | null };
    let secret: string | null = null;
    if (input.kind === 'email') {
      if (input.url !== undefined || input.format !== undefined) throw badRequest('url and format apply only to webhook channels', [{ field: input.url !== undefined ? 'url' : 'format', message: 'only for webhook channels' }]);
      if (input.email === undefined) throw badRequest('email is required for an e-mail channel', [{ field: 'email', message: 'is required' }]);
      fields = { email: checkEmail(input.email), url: null, format: null };
    } else {
      if (input.email !== undefined) throw badRequest('email applies only to e-mail channels', [{ field: 'email', message: 'only for e-mail channels' }]);
      if (input.url === undefined) throw badRequest('url is required for a webhook channel', [{ field: 'url', message: 'is required' }]);
      fields = { email: null, url: await this.checkTarget(input.url), format: (input.format ?? 'json') as 'json' | 'slack' };
      secret = newWebhookSecret();
    }
    const channel = await this.admission.runExclusive(async () => {
      if ((await this.deps.channels.countForUser(identity.user.id)) >= this.deps.policy.maxChannelsPerUser) {
        throw quotaExceeded(`at most ${this.deps.policy.maxChannelsPerUser} notification channels per user; delete one you no longer use`);
      }
      return this.deps.channels.insert({
        user_id: identity.user.id,
        kind: input.kind as 'email' | 'webhook',
        name,
        ...fields,
        secret_enc: secret && seal(this.deps.sealKey, secret),
        enabled: input.enabled ?? true,
        now: this.now(),
      });
    });
    await this.record(identity, ctx, 'notification_channel.created', `Notification channel "${channel.name}" (${channel.kind}: ${channel.email ?? channel.url}) created`, channel);
    return { ...view(channel), secret };
  }

  async update(identity: Identity, id: number, input: UpdateChannelRequest, ctx: RequestContext): Promise<NotificationChannel> {
    const current = await this.own(identity, id);
    const patch: ChannelPatch = {};
    if (input.name !== undefined) patch.name = checkName(input.name);
    if (input.enabled !== undefined) patch.enabled = input.enabled;
    if (current.kind === 'email') {
      if (input.url !== undefined || input.format !== undefined) throw badRequest('url and format apply only to webhook channels', [{ field: input.url !== undefined ? 'url' : 'format', message: 'only for webhook channels' }]);
      if (input.email !== undefined) patch.email = checkEmail(input.email);
    } else {
      if (input.email !== undefined) throw badRequest('email applies only to e-mail channels', [{ field: 'email', message: 'only for e-mail channels' }]);
      if (input.url !== undefined) patch.url = await this.checkTarget(input.url);
      if (input.format !== undefined) patch.format = input.format as 'json' | 'slack';
    }
    const updated = await this.deps.channels.update(identity.user.id, id, patch, this.now());
    if (!updated) throw notFound('Notification channel');
    if (patch.url !== undefined && patch.url !== current.url) {
      await this.record(identity, ctx, 'notification_channel.updated', `Notification channel "${updated.name}" now posts to ${updated.url}`, updated);
    }
    return view(updated);
  }

  async remove(identity: Identity, id: number, ctx: RequestContext): Promise<void> {
    const channel = await this.deps.channels.delete(identity.user.id, id);
    if (!channel) throw notFound('Notification channel');
    await this.record(identity, ctx, 'notification_channel.deleted', `Notification channel "${channel.name}" (${channel.kind}) deleted`, channel);
  }

  async rotateSecret(identity: Identity, id: number, ctx: RequestContext): Promise<CreatedChannel> {
    const channel = await this.own(identity, id);
    if (channel.kind !== 'webhook') throw badRequest('Only webhook channels have a signing secret');
    const secret = newWebhookSecret();
    const updated = await this.deps.channels.update(identity.user.id, id, { secret_enc: seal(this.deps.sealKey, secret) }, this.now());
    if (!updated) throw notFound('Notification channel');
    await this.record(identity, ctx, 'notification_channel.secret_rotated', `Signing secret of webhook "${updated.name}" replaced`, updated);
    return { ...view(updated), secret };
  }

  /**
   * Sends a test notification to one channel (enabled or not) and waits for its first attempt,
   * so the answer says whether it arrived. Retries, if any, go on in the background.
   */
  async sendTest(identity: Identity, id: number): Promise<NotificationDelivery> {
    const channel = await this.own(identity, id);
    const [deliveryId] = await this.queueFor([channel], {
      userId: identity.user.id,
      topic: 'test',
      subject: `Test notification from Twarga Cloud`,
      text: `This is a test of your ${channel.kind} channel "${channel.name}", sent by ${identity.user.username}. If you can read this, notifications reach you.`,
      data: { test: true, channel_id: channel.id },
    });
    await this.queue.firstAttempt(deliveryId!, this.deps.policy.timeoutMs + 5_000);
    const delivery = await this.deps.deliveries.get(deliveryId!);
    if (!delivery) throw notFound('Notification channel'); // deleted meanwhile
    return delivery;
  }

  async deliveries(identity: Identity, query: DeliveriesQuery): Promise<NotificationDelivery[]> {
    if (query.channel_id !== undefined) await this.own(identity, query.channel_id);
    return this.deps.deliveries.listForUser(identity.user.id, { channelId: query.channel_id, limit: query.limit ?? 50 });
  }

  private async queueFor(channels: ChannelRecord[], n: Notification): Promise<number[]> {
    const now = this.now();
    const ids = await this.deps.deliveries.insertMany(
      channels.map((c) => ({ channel_id: c.id, user_id: c.user_id, topic: n.topic.slice(0, 64), subject: n.subject.slice(0, 300), body: n.text, data: n.data, alert_id: n.alertId ?? null, now })),
    );
    for (const id of ids) this.queue.enqueue(id);
    return ids;
  }

  /** A webhook URL's syntax and where it resolves to now (400 naming the reason when refused). */
  private async checkTarget(raw: string): Promise<string> {
    const href = checkWebhookUrl(raw);
    try {
      await checkedAddresses(new URL(href), this.deps.webhookPolicy);
    } catch (err) {
      const message = err instanceof DownloadRefused ? err.message.replace(/^refused: /, '') : (err as Error).message;
      throw badRequest(`Webhook URL refused: ${message}`, [{ field: 'url', message }]);
    }
    return href;
  }

  private async own(identity: Identity, id: number): Promise<ChannelRecord> {
    const channel = await this.deps.channels.findForUser(identity.user.id, id);
    if (!channel) throw notFound('Notification channel');
    return channel;
  }

  private async prune(): Promise<void> {
    const before = new Date(this.deps.clock.now().getTime() - (this.deps.policy.retentionMs ?? 30 * DAY_MS)).toISOString();
    await this.deps.deliveries.pruneFinished(before);
  }

  private now(): string {
    return this.deps.clock.now().toISOString();
  }

  private record(identity: Identity, ctx: RequestContext, action: EventCode, message: string, channel: ChannelRecord): Promise<void> {
    return this.deps.events.record({
      type: 'auth',
      action,
      message,
      userId: identity.user.id,
      username: identity.user.username,
      sourceIp: ctx.ip,
      details: { channel_id: channel.id, kind: channel.kind },
    });
  }
}
