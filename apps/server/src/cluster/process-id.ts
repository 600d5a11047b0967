import { randomBytes } from 'node:crypto';
import os from 'node:os';

/**
 * This server process's name among the processes sharing one database: host, pid and a random
 * suffix (a pid is reused after a restart; an action of the dead process must not look like ours).
 */
export function newProcessId(): string {
  return `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}
