import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { parse } from 'yaml';
import { QgaClient, QgaError } from './qga-client.js';

export interface GuestExecResult {
  exitcode: number;
  stdout: string;
  stderr: string;
}

/** Connects to the guest agent, retrying (a restored or booting guest answers within moments) until the deadline. */
export async function connectAgent(socketPath: string, deadline: number): Promise<QgaClient> {
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await QgaClient.connect(socketPath, Math.max(200, Math.min(5000, deadline - Date.now())));
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  throw new QgaError(`guest agent did not answer: ${last instanceof Error ? last.message : String(last)}`);
}

/**
 * Runs a program in the guest through the agent (guest-exec, capture-output) and waits for it
 * to exit (guest-exec-status polled every few ms) or the deadline. Never a shell on our side:
 * the program and its arguments are an argv. `input` becomes its stdin (guest-exec input-data).
 */
export async function guestExec(qga: QgaClient, program: string, args: string[], deadline: number, input?: string): Promise<GuestExecResult> {
  const request = { path: program, arg: args, 'capture-output': true, ...(input === undefined ? {} : { 'input-data': Buffer.from(input).toString('base64') }) };
  const started = await qga.execute<{ pid: number }>('guest-exec', request, remaining(deadline));
  for (;;) {
    const status = await qga.execute<{ exited: boolean; exitcode?: number; signal?: number; 'out-data'?: string; 'err-data'?: string }>('guest-exec-status', { pid: started.pid }, remaining(deadline));
    if (status.exited) {
      return {
        exitcode: status.exitcode ?? (status.signal ? 128 + status.signal : -1),
        stdout: Buffer.from(status['out-data'] ?? '', 'base64').toString('utf8'),
        stderr: Buffer.from(status['err-data'] ?? '', 'base64').toString('utf8'),
      };
    }
    if (Date.now() > deadline) throw new QgaError(`${program} did not exit in time`);
    await new Promise((r) => setTimeout(r, EXEC_POLL_MS));
  }
}

const remaining = (deadline: number) => Math.max(100, deadline - Date.now());
/**
 * How often guest-exec-status is asked. Each poll is work for the guest too (virtio-serial, qemu-ga's
 * JSON), which under software emulation competes with the very program being waited for.
 */
const EXEC_POLL_MS = 25;

/**
 * A fresh ed25519 SSH host key in dropbear's key file format: string "ssh-ed25519", then a string
 * of the 32-byte private seed followed by the 32-byte public key (each string a 4-byte big-endian
 * length and its bytes; the same bytes `dropbearkey -t ed25519` writes). Made natively here: in a
 * guest under software emulation dropbearkey takes 0.2-0.8 s. A new key per call, never reused.
 */
export function dropbearEd25519HostKey(): { file: Buffer; publicKey: string } {
  const jwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
  const seed = Buffer.from(jwk.d!, 'base64url');
  const pub = Buffer.from(jwk.x!, 'base64url');
  const type = Buffer.from('ssh-ed25519');
  return {
    file: Buffer.concat([sshString(type), sshString(Buffer.concat([seed, pub]))]),
    publicKey: `ssh-ed25519 ${Buffer.concat([sshString(type), sshString(pub)]).toString('base64')}`,
  };
}

const sshString = (b: Buffer) => {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
};

/**
 * An authorized_keys line in the seed, as the tiny image's cold path finds them (the same pattern:
 * a YAML list item or value, quoted or not, of an ssh-* or ecdsa-* key).
 */
const SEED_KEY_LINE = /^[ -]*"?((?:ssh-|ecdsa-)[a-z0-9-]* [A-Za-z0-9+/=]*(?: [^"]*)?)"?[ ]*$/;

/** The user-data has a part the guest runs: a whole "#!" script, or a text/x-shellscript MIME part. */
const hasScript = (userData: string) => userData.startsWith('#!') || /^content-type: *text\/x-shellscript/im.test(userData);

/**
 * The guest's identity for `twarga-identity --stdin` (see that script): one `<name> <value>` line
 * each, read with shell builtins only, instead of the guest mounting and parsing the seed ISO.
 * Built from the same seed files the ISO holds: instance-id and local-hostname from meta-data,
 * root's keys from user-data and meta-data, the user-data itself (last) only when it holds a script.
 * A new host key, machine-id and entropy each time. Throws on a value that cannot be one line.
 */
export function identityInput(seed: { metaData: string; userData: string }, nowSeconds: number, hostKey: Buffer): string {
  const meta = (parse(seed.metaData) ?? {}) as Record<string, unknown>;
  const iid = String(meta['instance-id'] ?? '');
  const hostname = String(meta['local-hostname'] ?? '');
  if (!iid) throw new Error('the seed has no instance-id');
  const keys = [...new Set(`${seed.userData}\n${seed.metaData}`.split('\n').flatMap((l) => SEED_KEY_LINE.exec(l)?.[1] ?? []))].sort();
  const lines = [
    `now ${nowSeconds}`,
    `entropy ${randomBytes(32).toString('hex')}`,
    `instance-id ${iid}`,
    ...(hostname ? [`hostname ${hostname}`] : []),
    `machine-id ${randomBytes(16).toString('hex')}`,
    `host-key ${hostKey.toString('base64')}`,
    ...keys.map((k) => `ssh-key ${k}`),
  ];
  for (const l of lines) if (/[\0-\x1f\x7f]/.test(l)) throw new Error(`identity value with a control character: ${JSON.stringify(l.slice(0, 80))}`);
  return lines.join('\n') + '\n' + (hasScript(seed.userData) ? `user-data\n${seed.userData}` : '');
}
