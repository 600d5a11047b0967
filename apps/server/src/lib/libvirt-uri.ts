/**
 * What a libvirt connection URI may say. libvirt's remote driver reads extra parameters from the
 * query string (https://libvirt.org/uri.html#transport-configuration) and some of them run
 * programs: `command` (the local ssh binary, or the whole `ext` transport), `netcat` (a command
 * run on the remote host) and `name` (the URI the remote side opens, which can itself be an
 * `ext` URI). A URI is an admin setting, but an admin of the web app must not get a shell on the
 * libvirt host or on this server through it, so only known, inert parameters pass.
 */

/** Absolute paths in plain characters: no `..`, nothing a shell or URI decoding could change. */
const SAFE_PATH = /^\/(?:[A-Za-z0-9_.-]+\/)*[A-Za-z0-9_.-]*$/;
const isSafePath = (v: string) => v.length <= 255 && SAFE_PATH.test(v) && !v.split('/').some((seg) => seg === '..' || seg === '.');
const oneOf = (...values: string[]) => (v: string) => values.includes(v);

const ALLOWED: Record<string, { check: (value: string) => boolean; expect: string }> = {
  keyfile: { check: isSafePath, expect: 'an absolute path' },
  known_hosts: { check: isSafePath, expect: 'an absolute path' },
  pkipath: { check: isSafePath, expect: 'an absolute path' },
  socket: { check: isSafePath, expect: 'an absolute path' },
  no_verify: { check: oneOf('0', '1'), expect: '0 or 1' },
  no_tty: { check: oneOf('0', '1'), expect: '0 or 1' },
  known_hosts_verify: { check: oneOf('normal', 'auto', 'ignore'), expect: 'normal, auto or ignore' },
  sshauth: { check: (v) => v.split(',').every(oneOf('agent', 'privkey', 'password', 'keyboard-interactive')), expect: 'a comma-separated list of agent, privkey, password, keyboard-interactive' },
  // Enumerations of libvirt's own daemons and helpers: they choose, they do not name a program.
  mode: { check: oneOf('auto', 'direct', 'legacy'), expect: 'auto, direct or legacy' },
  proxy: { check: oneOf('auto', 'native', 'netcat'), expect: 'auto, native or netcat' },
};

const RUNS_A_COMMAND: Record<string, string> = {
  command: 'it names a program to run',
  netcat: 'it names a program to run on the libvirt host',
  name: 'it chooses the URI the remote side opens, which may run a program there',
};

const SHAPE = /^qemu(?:\+(ssh|libssh|libssh2|tcp|tls|unix))?:\/\/([^/?#]*)\/(system|session)(?:\?(.*))?$/;

/**
 * libvirt 9's ssh transport runs OpenSSH, which takes no known_hosts file from the URI: it reads
 * the server user's ~/.ssh/known_hosts whatever the URI says (checked on Debian 12). A URI that
 * names one would look checked while it is not; libssh and libssh2 read the file they are given.
 */
const ONLY_WITH_LIBSSH = ['known_hosts', 'known_hosts_verify'];
const AUTHORITY = /^(?:[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}@)?(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)(?::[0-9]{1,5})?$/;

/**
 * Why a libvirt URI is refused, naming the offending part, or undefined when it is fine.
 * Accepts qemu[+ssh|+libssh|+libssh2|+tcp|+tls|+unix]://[user@]host[:port]/(system|session)[?known=params].
 */
export function libvirtUriProblem(uri: string): string | undefined {
  const m = SHAPE.exec(uri);
  if (!m) return 'must look like qemu:///system or qemu+ssh://user@host/system';
  const [, transport, authority = '', , query] = m;
  // A user or host starting with "-" would reach ssh as an option.
  if (authority !== '' && !AUTHORITY.test(authority)) return `user@host "${authority}" is not a plain user name and host name`;
  if (query === undefined) return undefined;
  // Percent-escapes, ";" (libvirt's other separator) and "+" would let a parameter hide from the checks below.
  if (!/^[A-Za-z0-9_.,\/=&:-]*$/.test(query)) return 'the query may only hold letters, digits and . _ - / , : = & (no escapes)';
  const seen = new Set<string>();
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    const value = eq < 0 ? '' : pair.slice(eq + 1);
    if (RUNS_A_COMMAND[key]) return `parameter ${key} is not allowed: ${RUNS_A_COMMAND[key]}`;
    const rule = ALLOWED[key];
    if (!rule) return `parameter ${key || '(empty)'} is not allowed (allowed: ${Object.keys(ALLOWED).join(', ')})`;
    if (seen.has(key)) return `parameter ${key} is given twice`;
    seen.add(key);
    if (!rule.check(value)) return `parameter ${key} must be ${rule.expect}`;
    if (ONLY_WITH_LIBSSH.includes(key) && transport !== 'libssh' && transport !== 'libssh2') {
      return `parameter ${key} is read only by the libssh and libssh2 transports (qemu+ssh runs OpenSSH, which ignores it): use qemu+libssh://`;
    }
  }
  return undefined;
}
