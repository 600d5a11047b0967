/**
 * The console's escape sequences, as ssh and Lish read them: `~` is special only as the first
 * character of a line (right after Enter, or at the very start), so a `~` inside a command or a
 * path goes through untouched.
 *
 *   Enter ~ .   detach (the session ends, the CLI exits 0)
 *   Enter ~ ?   list the escapes (nothing is sent)
 *   Enter ~ ~   send one `~`
 *   Enter ~ x   send `~x` (any other character: both go through)
 *
 * Pure: bytes in, events out; the caller sends, prints and detaches. State carries across chunks,
 * so a `~` and its follower may arrive in separate reads (they do when typed by hand).
 */

export type EscapeEvent =
  /** Bytes to send to the VM. */
  | { type: 'data'; data: Buffer }
  /** `~?`: show ESCAPE_HELP. */
  | { type: 'help' }
  /** `~.`: detach. Bytes after it in the same chunk are dropped. */
  | { type: 'detach' };

export const ESCAPE_HELP = 'Supported escape sequences (after Enter):\r\n  ~.  detach\r\n  ~?  this help\r\n  ~~  send ~\r\n';

const TILDE = 0x7e;
const CR = 0x0d;
const LF = 0x0a;

export class EscapeDetector {
  /** True at the start of a line, where a `~` may begin an escape. */
  private lineStart = true;
  /** A `~` seen at the start of a line, held back until the next byte says what it is. */
  private held = false;

  /** Splits a chunk of keystrokes into data to send and escape actions, in order. */
  feed(chunk: Uint8Array): EscapeEvent[] {
    const events: EscapeEvent[] = [];
    let out: number[] = [];
    const flush = () => {
      if (out.length) events.push({ type: 'data', data: Buffer.from(out) });
      out = [];
    };
    for (const byte of chunk) {
      if (this.held) {
        this.held = false;
        if (byte === 0x2e /* . */) {
          flush();
          events.push({ type: 'detach' });
          // Whatever follows belongs to nobody: the session is over.
          this.lineStart = true;
          return events;
        }
        if (byte === 0x3f /* ? */) {
          flush();
          events.push({ type: 'help' });
          // Still at the start of a line: the user may type the escape they just looked up.
          this.lineStart = true;
          continue;
        }
        if (byte === TILDE) {
          out.push(TILDE);
          this.lineStart = false;
          continue;
        }
        // Not an escape: the held `~` goes out, and this byte is an ordinary one.
        out.push(TILDE);
        this.lineStart = false;
      } else if (this.lineStart && byte === TILDE) {
        this.held = true;
        continue;
      }
      out.push(byte);
      this.lineStart = byte === CR || byte === LF;
    }
    flush();
    return events;
  }

  /** True while a `~` typed at the start of a line waits for its next character. */
  get pending(): boolean {
    return this.held;
  }
}
