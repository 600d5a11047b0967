import { Type, type Static } from '@sinclair/typebox';
import { Timestamp } from './common.js';

/** Where a user's notifications go: e-mail over SMTP, or a webhook (JSON, or Slack's payload). */
export const ChannelKinds = ['email', 'webhook'] as const;
export type ChannelKind = (typeof ChannelKinds)[number];
export const WebhookFormats = ['json', 'slack'] as const;
export type WebhookFormat = (typeof WebhookFormats)[number];

const Literals = <T extends readonly string[]>(values: T) => Type.Union(values.map((v) => Type.Literal(v)));

export const NotificationChannel = Type.Object(
  {
    id: Type.Integer(),
    user_id: Type.Integer(),
    kind: Literals(ChannelKinds),
    name: Type.String(),
    /** kind email: the address. */
    email: Type.Union([Type.String(), Type.Null()]),
    /** kind webhook: the target URL (http or https). */
    url: Type.Union([Type.String(), Type.Null()]),
    format: Type.Union([Literals(WebhookFormats), Type.Null()]),
    enabled: Type.Boolean(),
    created_at: Timestamp,
  },
  { title: 'NotificationChannel' },
);
export type NotificationChannel = Static<typeof NotificationChannel>;

export const CreateChannelRequest = Type.Object(
  {
    kind: Literals(ChannelKinds),
    name: Type.String({ minLength: 1, maxLength: 80 }),
    email: Type.Optional(Type.String({ maxLength: 254 })),
    url: Type.Optional(Type.String({ maxLength: 2000 })),
    format: Type.Optional(Literals(WebhookFormats)),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type CreateChannelRequest = Static<typeof CreateChannelRequest>;

export const UpdateChannelRequest = Type.Partial(Type.Omit(CreateChannelRequest, ['kind']), { additionalProperties: false });
export type UpdateChannelRequest = Static<typeof UpdateChannelRequest>;

/** The create (and rotate-secret) answer of a webhook: its signing secret, shown this once. */
export const CreatedChannel = Type.Composite([
  NotificationChannel,
  Type.Object({ secret: Type.Union([Type.String(), Type.Null()], { description: 'HMAC-SHA256 key of the X-Twarga-Signature header; shown once' }) }),
]);
export type CreatedChannel = Static<typeof CreatedChannel>;

export const DeliveryStatuses = ['pending', 'delivered', 'failed'] as const;
export type DeliveryStatus = (typeof DeliveryStatuses)[number];

export const NotificationDelivery = Type.Object(
  {
    id: Type.Integer(),
    channel_id: Type.Integer(),
    /** What was sent: alert.opened, alert.resolved, test, … */
    topic: Type.String(),
    subject: Type.String(),
    alert_id: Type.Union([Type.Integer(), Type.Null()]),
    status: Literals(DeliveryStatuses),
    attempts: Type.Integer(),
    /** The receiver's HTTP status (webhook) or SMTP reply code. */
    response_code: Type.Union([Type.Integer(), Type.Null()]),
    error: Type.Union([Type.String(), Type.Null()]),
    created_at: Timestamp,
    finished_at: Type.Union([Timestamp, Type.Null()]),
  },
  { title: 'NotificationDelivery' },
);
export type NotificationDelivery = Static<typeof NotificationDelivery>;

export const DeliveriesQuery = Type.Object({
  channel_id: Type.Optional(Type.Integer({ minimum: 1 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
});
export type DeliveriesQuery = Static<typeof DeliveriesQuery>;
