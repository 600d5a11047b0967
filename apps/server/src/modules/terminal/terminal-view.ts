import type { TerminalEndReason, TerminalSession } from '@twarga/contract';
import type { TerminalSessionRow } from './terminal-sessions.repository.js';

export interface SessionLimitsView {
  idleSeconds: number;
  maxSeconds: number;
}

export function toTerminalSession(row: TerminalSessionRow, active: boolean, limits: SessionLimitsView): TerminalSession {
  return {
    id: row.id,
    vm_id: row.vm_id,
    vm_name: row.vm_name,
    user_id: row.user_id,
    username: row.username,
    kind: row.kind,
    active,
    started_at: row.started_at,
    ended_at: row.ended_at,
    end_reason: row.end_reason as TerminalEndReason | null,
    source_ip: row.source_ip,
    cols: row.cols,
    rows: row.rows,
    bytes_in: Number(row.bytes_in),
    bytes_out: Number(row.bytes_out),
    idle_timeout_seconds: limits.idleSeconds,
    max_duration_seconds: limits.maxSeconds,
    recording: {
      // A live session's file is still being written: it can be replayed once the session ends.
      available: !active && row.recording_deleted_at === null && Number(row.recording_bytes) > 0,
      bytes: Number(row.recording_bytes),
      truncated: row.recording_truncated === 1,
    },
  };
}
