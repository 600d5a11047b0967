import { Client } from 'ssh2';
import { connectOwned, type OwnConnectionTag } from '../../lib/own-connection.js';
import type { BackendSink, TerminalBackend } from './backend.js';
import { hostKeyFingerprint } from './console-keys.js';

export interface SshShellOptions {
  host: string;
  port: number;
  username: string;
  privateKey: string;
  /** The pinned host key (SHA-256, base64); null on the first connection. */
  expectedHostKey: string | null;
  cols: number;
  rows: number;
  timeoutMs: number;
  /** Registers the connection as the control plane's own (the SOC never counts it as an attack). */
  own?: OwnConnectionTag;
}

export class HostKeyMismatch extends Error {
  constructor(readonly seen: string) {
    super(`the VM's SSH host key changed (now SHA256:${seen}); refusing to connect`);
  }
}

/** Opens an interactive shell with a PTY over SSH; resolves once the shell is open. */
export function openSshShell(opts: SshShellOptions, sink: BackendSink): Promise<{ backend: TerminalBackend; hostKey: string }> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let hostKey = '';
    let settled = false;
    let ended = false;
    const end = (reason: 'exited' | 'backend_error', code: number | null, message: string) => {
      if (ended) return;
      ended = true;
      client.end();
      sink.ended(reason, code, message);
    };
    client.on('error', (err) => {
      if (!settled) {
        settled = true;
        client.end();
        reject(err);
      } else end('backend_error', null, `SSH connection failed: ${err.message}`);
    });
    client.on('close', () => end('backend_error', null, 'the SSH connection closed'));
    client.on('ready', () => {
      client.shell({ term: 'xterm-256color', cols: opts.cols, rows: opts.rows }, (err, stream) => {
        if (err) {
          settled = true;
          client.end();
          return reject(err);
        }
        let exitCode: number | null = null;
        stream.on('data', (d: Buffer) => sink.output(d));
        stream.stderr.on('data', (d: Buffer) => sink.output(d));
        stream.on('exit', (code: number | null) => {
          exitCode = typeof code === 'number' ? code : null;
        });
        stream.on('close', () => end('exited', exitCode, `the shell exited${exitCode === null ? '' : ` with status ${exitCode}`}`));
        settled = true;
        resolve({
          hostKey,
          backend: {
            write: (data) => stream.write(data),
            resize: (cols, rows) => stream.setWindow(rows, cols, 0, 0),
            close: () => {
              ended = true;
              client.end();
            },
          },
        });
      });
    });
    client.connect({
      // Our socket, so its local port is registered as ours before the guest logs the connection.
      sock: connectOwned(opts.host, opts.port, opts.own),
      username: opts.username,
      privateKey: opts.privateKey,
      readyTimeout: opts.timeoutMs,
      keepaliveInterval: 15_000,
      hostVerifier: (key: Buffer) => {
        hostKey = hostKeyFingerprint(key);
        if (opts.expectedHostKey && opts.expectedHostKey !== hostKey) {
          // Our error, not ssh2's "Host denied", is what the user should read.
          settled = true;
          ended = true;
          reject(new HostKeyMismatch(hostKey));
          return false;
        }
        return true;
      },
    });
  });
}
