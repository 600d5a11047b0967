/** What a terminal session talks to: the VM's serial port or an SSH shell. */
export interface TerminalBackend {
  write(data: Buffer): void;
  resize(cols: number, rows: number): void;
  close(): void;
}

export type BackendEnd = 'exited' | 'vm_stopped' | 'backend_error';

/** Callbacks a backend reports to; `ended` is called at most once. */
export interface BackendSink {
  output(data: Buffer): void;
  ended(reason: BackendEnd, exitCode: number | null, message: string): void;
}
