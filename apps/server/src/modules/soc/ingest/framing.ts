/**
 * Syslog over a stream (RFC 6587): each frame is either "\n"-terminated (non-transparent framing:
 * busybox, rsyslog's default) or "LEN SP MSG" (octet counting: rsyslog with RFC 5424, syslog-ng).
 * Decided per frame: a frame that starts with digits and a space is octet-counted, as RFC 6587
 * says a receiver can tell (a syslog message itself starts with '<').
 *
 * Bounded memory whatever the sender does: a frame longer than maxBytes is cut to its first
 * maxBytes (`cut: true`) and the rest skipped as it arrives; an octet count that is not a number
 * of at most 9 digits followed by a space is an error frame (`bad: true`) and the stream falls back
 * to the next newline.
 */
export interface Frame {
  line: Buffer;
  /** The frame was longer than maxBytes; `line` is its first maxBytes. */
  cut: boolean;
  /** Not a frame at all (a broken octet count): counted as malformed. */
  bad: boolean;
}

const NL = 0x0a;
const SP = 0x20;
const isDigit = (b: number | undefined) => b !== undefined && b >= 0x30 && b <= 0x39;

export class SyslogFramer {
  private pending: Buffer = Buffer.alloc(0);
  /** Bytes still to skip of a cut octet-counted frame, or -1: skip to the next newline (a cut line). */
  private skipping = 0;

  constructor(private readonly maxBytes: number) {}

  /** Feeds bytes; returns the frames completed by them. */
  push(chunk: Buffer): Frame[] {
    const frames: Frame[] = [];
    const buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    let at = 0;
    while (at < buf.length) {
      if (this.skipping > 0) {
        const n = Math.min(this.skipping, buf.length - at);
        this.skipping -= n;
        at += n;
        continue;
      }
      if (this.skipping === -1) {
        const nl = buf.indexOf(NL, at);
        if (nl < 0) return frames;
        this.skipping = 0;
        at = nl + 1;
        continue;
      }
      if (isDigit(buf[at])) {
        // Octet counting: digits, a space, then exactly that many bytes.
        let i = at;
        while (i < buf.length && isDigit(buf[i]) && i - at < 10) i++;
        if (i === buf.length) break; // the count is not complete yet
        if (buf[i] !== SP || i - at > 9) {
          frames.push({ line: buf.subarray(at, Math.min(i, at + this.maxBytes)), cut: false, bad: true });
          this.skipping = -1;
          at = i;
          continue;
        }
        const len = Number(buf.subarray(at, i).toString('latin1'));
        const start = i + 1;
        if (len <= this.maxBytes) {
          if (start + len > buf.length) break; // wait for the rest
          frames.push({ line: trimEnd(buf.subarray(start, start + len)), cut: false, bad: false });
          at = start + len;
        } else {
          if (start + this.maxBytes > buf.length) break;
          frames.push({ line: buf.subarray(start, start + this.maxBytes), cut: true, bad: false });
          this.skipping = len - this.maxBytes;
          at = start + this.maxBytes;
        }
        continue;
      }
      const nl = buf.indexOf(NL, at);
      const end = nl < 0 ? buf.length : nl;
      if (end - at > this.maxBytes) {
        frames.push({ line: buf.subarray(at, at + this.maxBytes), cut: true, bad: false });
        if (nl < 0) {
          this.skipping = -1;
          return frames;
        }
        at = nl + 1;
        continue;
      }
      if (nl < 0) break; // wait for the newline
      const line = trimEnd(buf.subarray(at, nl));
      if (line.length) frames.push({ line, cut: false, bad: false });
      at = nl + 1;
    }
    // Keep only what is not yet a frame (copied: the caller's chunk may be reused).
    this.pending = Buffer.from(buf.subarray(at));
    return frames;
  }
}

/** A trailing "\r", NUL or (in an octet-counted frame: rsyslog counts it) "\n" is not part of the message. */
function trimEnd(line: Buffer): Buffer {
  let end = line.length;
  while (end > 0 && (line[end - 1] === 0x0d || line[end - 1] === 0x00 || line[end - 1] === NL)) end--;
  return line.subarray(0, end);
}
