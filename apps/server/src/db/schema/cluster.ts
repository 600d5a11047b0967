import type { Generated } from 'kysely';
import type { Flag, Timestamp } from './columns.js';

/** Facts every server process on one database shares (025). */
export interface ClusterSettingsTable {
  name: string;
  value: string;
  set_at: Timestamp;
}

/** The server processes on this database and when each was last seen (026). */
export interface ServerProcessesTable {
  id: string;
  hostname: string;
  pid: number;
  version: string;
  started_at: Timestamp;
  last_seen_at: Timestamp;
  leading: Generated<Flag>;
}
