import type { Generated } from 'kysely';

/**
 * live_relay (PostgreSQL only, migration 023): live messages too big for a NOTIFY payload
 * (under 8000 bytes). The relay stores the message here and notifies its id; rows live a minute.
 */
export interface LiveRelayTable {
  id: Generated<number>;
  /** The JSON of the messages, as the notification would have carried them. */
  payload: string;
  created_at: string;
}
