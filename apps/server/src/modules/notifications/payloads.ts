import { createHmac, randomBytes } from 'node:crypto';
import type { DeliveryJob } from './deliveries.repository.js';

/** A webhook signing secret: 256 random bits with a readable prefix. */
export const newWebhookSecret = () => `twh_${randomBytes(32).toString('base64url')}`;

/** X-Twarga-Signature: "sha256=" + hex HMAC-SHA256 of the exact body bytes, keyed with the channel's secret. */
export const signature = (secret: string, body: string | Buffer) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

/**
 * The JSON a webhook receives (format json). `timestamp` repeats X-Twarga-Timestamp inside the
 * signed body, so a receiver can refuse old replays with a value the signature covers.
 */
export function jsonPayload(job: DeliveryJob, timestamp: string): Record<string, unknown> {
  return {
    id: job.id,
    topic: job.topic,
    subject: job.subject,
    text: job.body,
    alert_id: job.alert_id,
    data: job.data,
    created_at: job.created_at,
    timestamp,
  };
}

// Slack's limits: header text 150 characters, a section's text 3000.
const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
/** Slack's mrkdwn needs &, < and > escaped; everything else is literal. */
const slackEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Format slack: what a Slack (or Mattermost, Rocket.Chat) incoming webhook accepts: text plus blocks. */
export function slackPayload(job: DeliveryJob): Record<string, unknown> {
  return {
    text: `${slackEscape(job.subject)}\n${slackEscape(job.body)}`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: cut(job.subject, 150) } },
      { type: 'section', text: { type: 'mrkdwn', text: cut(slackEscape(job.body) || ' ', 3000) } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: slackEscape(`${job.topic} · delivery ${job.id}`) }] },
    ],
  };
}
