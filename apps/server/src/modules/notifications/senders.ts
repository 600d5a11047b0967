import nodemailer, { type Transporter } from 'nodemailer';
import { DownloadRefused, guardedRequest, type FetchPolicy } from '../../lib/guarded-fetch.js';
import type { ChannelRecord } from './channels.repository.js';
import type { DeliveryJob } from './deliveries.repository.js';
import { jsonPayload, signature, slackPayload } from './payloads.js';

/** What one attempt achieved. `retryable`: a later attempt may succeed (timeouts, 5xx, 429, SMTP 4xx). */
export interface AttemptOutcome {
  ok: boolean;
  retryable: boolean;
  responseCode: number | null;
  error: string | null;
}

export interface SenderOptions {
  smtpUrl?: string;
  smtpFrom: string;
  /** Which addresses a webhook may reach (checked again at every send: DNS may have changed). */
  webhookPolicy: FetchPolicy;
  timeoutMs: number;
}

const failure = (error: string, retryable: boolean, responseCode: number | null = null): AttemptOutcome => ({ ok: false, retryable, responseCode, error });

/** Sends one delivery to one channel, once. Never throws: every problem is an outcome. */
export class Senders {
  private readonly mail?: Transporter;

  constructor(private readonly opts: SenderOptions) {
    if (opts.smtpUrl) {
      const t = opts.timeoutMs;
      this.mail = nodemailer.createTransport({ url: opts.smtpUrl, connectionTimeout: t, greetingTimeout: t, socketTimeout: t });
    }
  }

  async send(channel: ChannelRecord, job: DeliveryJob, secret: string | null, signal: AbortSignal): Promise<AttemptOutcome> {
    try {
      if (channel.kind === 'email') return await this.email(channel, job, signal);
      return await this.webhook(channel, job, secret, signal);
    } catch (err) {
      return failure(`unexpected: ${(err as Error).message}`, true);
    }
  }

  close(): void {
    this.mail?.close();
  }

  private async email(channel: ChannelRecord, job: DeliveryJob, signal: AbortSignal): Promise<AttemptOutcome> {
    if (!this.mail) return failure('SMTP not configured: set TWARGA_SMTP_URL', false);
    const send = this.mail.sendMail({
      from: this.opts.smtpFrom,
      to: channel.email!,
      subject: job.subject,
      text: `${job.body}\n\n--\nTwarga Cloud notification (${job.topic}), delivery ${job.id}.\n`,
      headers: { 'X-Twarga-Delivery': String(job.id), 'X-Twarga-Topic': job.topic },
    });
    try {
      const info = await raceAbort(send, signal, this.opts.timeoutMs);
      return { ok: true, retryable: false, responseCode: smtpCode(info.response), error: null };
    } catch (err) {
      const e = err as Error & { responseCode?: number; code?: string };
      const code = e.responseCode ?? null;
      // 5xx: the server refused for good (bad address, policy); anything else may pass later.
      // The owner sees this: the relay's address (an admin setting) is not theirs to know.
      const message = e.message.replace(/\b(connect|getaddrinfo) (E[A-Z]+) \S+/g, '$1 $2 (the mail server)');
      return failure(`SMTP: ${message}`.slice(0, 500), !(code !== null && code >= 500), code);
    }
  }

  private async webhook(channel: ChannelRecord, job: DeliveryJob, secret: string | null, signal: AbortSignal): Promise<AttemptOutcome> {
    if (!secret) return failure('the channel has no signing secret', false);
    const timestamp = new Date().toISOString();
    const body = JSON.stringify(channel.format === 'slack' ? slackPayload(job) : jsonPayload(job, timestamp));
    const timeout = AbortSignal.timeout(this.opts.timeoutMs);
    const both = AbortSignal.any([signal, timeout]);
    try {
      const res = await guardedRequest(channel.url!, this.opts.webhookPolicy, both, {
        method: 'POST',
        body,
        headers: {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'x-twarga-signature': signature(secret, body),
          'x-twarga-timestamp': timestamp,
          'x-twarga-delivery': String(job.id),
          'x-twarga-topic': job.topic,
        },
      });
      res.resume(); // the answer's body is not needed; drain it so the socket closes
      const code = res.statusCode ?? 0;
      if (code >= 200 && code < 300) return { ok: true, retryable: false, responseCode: code, error: null };
      const why = code >= 300 && code < 400 ? ' (redirects are not followed)' : '';
      return failure(`HTTP ${code}${res.statusMessage ? ` ${res.statusMessage}` : ''}${why}`.slice(0, 200), code >= 500 || code === 408 || code === 429, code);
    } catch (err) {
      if (err instanceof DownloadRefused) return failure(err.message, false);
      if (timeout.aborted) return failure(`timed out after ${this.opts.timeoutMs / 1000} s`, true);
      return failure((err as Error).message, true);
    }
  }
}

/** "250 2.0.0 Ok: queued" → 250. */
function smtpCode(response: string | undefined): number | null {
  const m = response?.match(/^(\d{3})/);
  return m ? Number(m[1]) : null;
}

/** Waits for `p`, giving up after `ms` or when `signal` aborts (nodemailer has no overall deadline). */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms / 1000} s`)), ms);
    const onAbort = () => reject(new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    });
  });
}
