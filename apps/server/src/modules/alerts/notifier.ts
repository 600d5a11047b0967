/**
 * What the alerts module needs of the notifications module (wired in app.ts): the agreed
 * in-process interface, declared here so this module does not import the other's internals.
 * notify() never throws and never waits for network I/O (deliveries are queued there).
 */
export interface AlertNotification {
  /** A user, or 'admins' (every active admin) for system policies. */
  userId: number | 'admins';
  /** Channels of that user; absent = every enabled channel of the user (of every admin for 'admins'). */
  channelIds?: number[];
  topic: 'alert.opened' | 'alert.resolved';
  subject: string;
  text: string;
  data: Record<string, unknown>;
  alertId?: number;
}

export interface Notifier {
  notify(n: AlertNotification): Promise<void>;
}

/** Checks that channels belong to a user: returns the ids that are not theirs (or do not exist). */
export type ChannelOwnership = (userId: number, channelIds: number[]) => Promise<number[]>;
