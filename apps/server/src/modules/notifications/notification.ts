/**
 * What another module asks to be sent (the agreed in-process interface). `userId: 'admins'` goes
 * to every active administrator's channels; `channelIds` narrows to those channels (of that
 * user); absent or empty means all of the user's enabled channels.
 */
export interface Notification {
  userId: number | 'admins';
  channelIds?: number[];
  /** 'alert.opened' | 'alert.resolved' | 'test' | … */
  topic: string;
  subject: string;
  text: string;
  data: Record<string, unknown>;
  alertId?: number;
}

/** The narrow face callers depend on (alerts, health): queue and return, never throw. */
export interface Notifier {
  notify(n: Notification): Promise<void>;
}
