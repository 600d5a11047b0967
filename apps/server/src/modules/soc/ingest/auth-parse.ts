/**
 * What an SSH server's auth log line says, typed: OpenSSH's sshd and dropbear (2022.83, the tiny
 * image's; wording checked against its source, svr-auth*.c and svr-session.c, and by experiment).
 * Pure. Lines that are not about a login (banners, sessions, key exchange) are `undefined`.
 */

export type AuthOutcome = 'failed' | 'invalid_user' | 'succeeded' | 'preauth';

export interface AuthLine {
  outcome: AuthOutcome;
  /** The user name tried; null when the server does not say (dropbear's nonexistent user). */
  user: string | null;
  /** 'password', 'publickey', … when the line says. */
  method: string | null;
  /** The client as the guest saw it; null when the line does not carry it (see `connection`). */
  address: string | null;
  port: number | null;
}

/** dropbear's "Child connection from A:P": which client a dropbear process (pid) serves. */
export interface ConnectionLine {
  outcome: 'connection';
  address: string;
  port: number;
}

export function parseAuthLine(app: string | null, msg: string): AuthLine | ConnectionLine | undefined {
  if (app === 'dropbear') return parseDropbear(msg);
  // OpenSSH 9.8 and later log the per-connection process as sshd-session.
  if (app === 'sshd' || app === 'sshd-session') return parseOpenSsh(msg);
  return undefined;
}

/** "10.0.2.2:54321", "::ffff:10.0.2.2:54321", "[2001:db8::1]:22" → address and port. */
function hostPort(s: string): { address: string; port: number } | undefined {
  const m = /^\[?([0-9A-Fa-f.:]+?)\]?:(\d{1,5})$/.exec(s);
  if (!m) return undefined;
  const port = Number(m[2]);
  return port <= 65535 ? { address: m[1]!.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1'), port } : undefined;
}

const line = (outcome: AuthOutcome, user: string | null, method: string | null, at?: { address: string; port: number }): AuthLine => ({
  outcome,
  user,
  method,
  address: at?.address ?? null,
  port: at?.port ?? null,
});

function parseDropbear(msg: string): AuthLine | ConnectionLine | undefined {
  let m: RegExpExecArray | null;
  if ((m = /^Child connection from (\S+)$/.exec(msg))) {
    const at = hostPort(m[1]!);
    return at && { outcome: 'connection', ...at };
  }
  if ((m = /^Bad password attempt for '(.*)' from (\S+)$/.exec(msg))) return line('failed', m[1]!, 'password', hostPort(m[2]!));
  if ((m = /^Too-long password attempt for '(.*)' from (\S+)$/.exec(msg))) return line('failed', m[1]!, 'password', hostPort(m[2]!));
  if ((m = /^Pubkey auth bad signature for '(.*)' with key \S+ from (\S+)$/.exec(msg))) return line('failed', m[1]!, 'publickey', hostPort(m[2]!));
  // Refusals that name the user but not the client: the ingest finds the client by the process id.
  if ((m = /^User account '(.*)' is locked$/.exec(msg))) return line('failed', m[1]!, 'password');
  if ((m = /^User '(.*)' has (?:blank password|invalid shell), rejected$/.exec(msg))) return line('failed', m[1]!, null);
  if (msg === 'root login rejected') return line('failed', 'root', null);
  // 2022.83 says neither the name nor the client here (older releases added "from A:P").
  if ((m = /^Login attempt for nonexistent user(?: from (\S+))?$/.exec(msg))) return line('invalid_user', null, null, m[1] ? hostPort(m[1]) : undefined);
  if ((m = /^Password auth succeeded for '(.*)' from (\S+?)(?:, extra auth required)?$/.exec(msg))) return line('succeeded', m[1]!, 'password', hostPort(m[2]!));
  if ((m = /^Pubkey auth succeeded for '(.*)' with .* key \S+ from (\S+?)(?:, extra auth required)?$/.exec(msg))) return line('succeeded', m[1]!, 'publickey', hostPort(m[2]!));
  if ((m = /^Auth succeeded with blank password for '(.*)' from (\S+)$/.exec(msg))) return line('succeeded', m[1]!, 'none', hostPort(m[2]!));
  // "Exit before auth from <10.0.2.2:54321>: (user 'root', 1 fails): Disconnect received"
  if ((m = /^Exit before auth(?: from <([^>]+)>)?: (?:\(user '(.*)', \d+ fails\): )?/.exec(msg))) return line('preauth', m[2] ?? null, null, m[1] ? hostPort(m[1]) : undefined);
  return undefined;
}

const AT = String.raw`(\S+) port (\d{1,5})`;
const OPENSSH: [RegExp, (m: RegExpExecArray) => AuthLine | undefined][] = [
  // "Failed password for root from A port P ssh2", "Failed publickey for invalid user x from A port P ssh2: RSA SHA256:…"
  [new RegExp(`^Failed (\\S+) for (?:invalid user )?(.*) from ${AT}(?: ssh2)?`), (m) => line('failed', m[2]!, m[1]!, at(m[3]!, m[4]!))],
  [new RegExp(`^Invalid user (.*) from ${AT}`), (m) => line('invalid_user', m[1]!, null, at(m[2]!, m[3]!))],
  [new RegExp(`^Accepted (\\S+) for (.*) from ${AT}(?: ssh2)?`), (m) => line('succeeded', m[2]!, m[1]!, at(m[3]!, m[4]!))],
  // "Connection closed by authenticating user root A port P [preauth]", "Disconnected from invalid user x A port P [preauth]"
  [
    new RegExp(`^(?:Connection closed by|Disconnected from|Connection reset by) (?:(?:authenticating|invalid) user (.*) )?${AT}(?::.*)? \\[preauth\\]$`),
    (m) => line('preauth', m[1] ?? null, null, at(m[2]!, m[3]!)),
  ],
];

function at(address: string, port: string) {
  const p = Number(port);
  return p <= 65535 ? { address, port: p } : undefined;
}

function parseOpenSsh(msg: string): AuthLine | undefined {
  for (const [re, make] of OPENSSH) {
    const m = re.exec(msg);
    if (m) return make(m);
  }
  return undefined;
}
