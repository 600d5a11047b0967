/** Booleans are stored as 0/1 integers and timestamps as ISO-8601 UTC strings on both databases. */
export type Flag = number;
export type Timestamp = string;
