import type { Timestamp } from './columns.js';

/** Facts every server process on one database shares (025). */
export interface ClusterSettingsTable {
  name: string;
  value: string;
  set_at: Timestamp;
}
