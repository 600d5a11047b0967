/**
 * Syslog messages as guests send them: RFC 3164 (BSD: glibc, busybox, rsyslog's traditional
 * forward format, with or without the hostname) and RFC 5424. Pure and strict: a line that is
 * neither is `undefined` (counted as malformed by the ingest), never a guess. The npm parsers
 * (glossy, nsyslog-parser) accept almost anything as a message, which would hide malformed input.
 */

export interface SyslogMessage {
  facility: number;
  severity: number;
  /** What the sender wrote as its time, as written (a guest's clock is not trusted). */
  timestamp: string | null;
  hostname: string | null;
  /** The program (3164 tag, 5424 APP-NAME), e.g. 'sshd', 'dropbear'. */
  app: string | null;
  pid: number | null;
  msg: string;
}

const PRI = /^<(\d{1,3})>/;
const MONTHS = 'Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec';
/** "Nov 30 17:00:00" or "Nov  3 17:00:00" (3164), or an RFC 3339 time (rsyslog's RSYSLOG_ForwardFormat). */
const STAMP_3164 = new RegExp(`^(?:(?:${MONTHS}) [ 0-9]\\d \\d\\d:\\d\\d:\\d\\d|\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(?:\\.\\d{1,9})?(?:Z|[+-]\\d\\d:\\d\\d)) `);
/** A 3164 tag: "sshd[123]:" or "sshd:" (RFC 3164 allows up to 32 characters; real ones are short). */
const TAG = /^([^\s:[\]]{1,64})(?:\[(\d{1,10})\])?: ?/;
const STAMP_5424 = /^(?:-|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d))$/;

export function parseSyslog(line: string): SyslogMessage | undefined {
  const pri = PRI.exec(line);
  if (!pri) return undefined;
  const value = Number(pri[1]);
  if (value > 191) return undefined;
  const head = { facility: value >> 3, severity: value & 7 };
  const rest = line.slice(pri[0].length);
  return rest.startsWith('1 ') ? parse5424(head, rest.slice(2)) : parse3164(head, rest);
}

function parse3164(head: { facility: number; severity: number }, rest: string): SyslogMessage | undefined {
  const stamp = STAMP_3164.exec(rest);
  if (!stamp) return undefined;
  let body = rest.slice(stamp[0].length);
  // "host tag[pid]: msg" or, from a local socket (glibc, busybox), "tag[pid]: msg" without a host.
  let hostname: string | null = null;
  let tag = TAG.exec(body);
  if (!tag) {
    const space = body.indexOf(' ');
    if (space <= 0) return undefined;
    hostname = body.slice(0, space);
    body = body.slice(space + 1);
    tag = TAG.exec(body);
  }
  if (!tag) return hostname ? { ...head, timestamp: stamp[0].trim(), hostname, app: null, pid: null, msg: body } : undefined;
  return { ...head, timestamp: stamp[0].trim(), hostname, app: tag[1]!, pid: tag[2] ? Number(tag[2]) : null, msg: body.slice(tag[0].length) };
}

/** RFC 5424: VERSION(1) SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP STRUCTURED-DATA [SP MSG]. */
function parse5424(head: { facility: number; severity: number }, rest: string): SyslogMessage | undefined {
  const fields: string[] = [];
  let at = 0;
  for (let i = 0; i < 5; i++) {
    const space = rest.indexOf(' ', at);
    if (space < 0) return undefined;
    fields.push(rest.slice(at, space));
    at = space + 1;
  }
  const [timestamp, hostname, app, procid, msgid] = fields as [string, string, string, string, string];
  if (!STAMP_5424.test(timestamp) || [hostname, app, procid, msgid].some((f) => f === '' || /[^\x21-\x7e]/.test(f))) return undefined;
  const sdEnd = structuredDataEnd(rest, at);
  if (sdEnd === undefined) return undefined;
  let msg = rest.slice(sdEnd);
  if (msg !== '' && !msg.startsWith(' ')) return undefined;
  // rsyslog keeps the space that followed the tag in its message ("- -  Failed password…"): not part of it.
  msg = msg.slice(1).replace(/^\uFEFF/, '').replace(/^ +/, '');
  const nil = (f: string) => (f === '-' ? null : f);
  return { ...head, timestamp: nil(timestamp), hostname: nil(hostname), app: nil(app), pid: /^\d{1,10}$/.test(procid) ? Number(procid) : null, msg };
}

/** Where STRUCTURED-DATA ends: "-" or one or more [id k="v" ...] elements (\" \] \\ escaped). */
function structuredDataEnd(s: string, at: number): number | undefined {
  if (s[at] === '-') return at + 1;
  if (s[at] !== '[') return undefined;
  let i = at;
  while (s[i] === '[') {
    let inValue = false;
    i++;
    for (;;) {
      const c = s[i];
      if (c === undefined) return undefined;
      if (inValue && c === '\\') i += 2;
      else if (c === '"') {
        inValue = !inValue;
        i++;
      } else if (!inValue && c === ']') {
        i++;
        break;
      } else i++;
    }
  }
  return i;
}
