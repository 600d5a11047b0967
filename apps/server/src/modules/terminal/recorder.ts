import { createWriteStream, type WriteStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

export interface RecorderOptions {
  width: number;
  height: number;
  title: string;
  /** Unix seconds of the session's start. */
  timestamp: number;
  /** Stop recording (with a marker) once the file would grow past this. */
  maxBytes: number;
}

/**
 * Writes an asciicast v2 file (https://docs.asciinema.org/manual/asciicast/v2/): a JSON header
 * line, then one [seconds, code, data] line per event: "o" output, "r" resize, "m" marker.
 * Only output is recorded, never keystrokes: passwords typed at a prompt are not echoed, so
 * they do not end up in recordings.
 */
export class AsciicastRecorder {
  private readonly out: WriteStream;
  private readonly decoder = new StringDecoder('utf8');
  private readonly started = performance.now();
  private bytes = 0;
  private full = false;
  private closed = false;

  constructor(
    readonly file: string,
    private readonly options: RecorderOptions,
  ) {
    this.out = createWriteStream(file, { flags: 'wx', mode: 0o600 });
    this.out.on('error', () => {
      this.closed = true;
    });
    this.line({
      version: 2,
      width: options.width,
      height: options.height,
      timestamp: options.timestamp,
      title: options.title,
      env: { TERM: 'xterm-256color' },
    });
  }

  get size(): number {
    return this.bytes;
  }

  get truncated(): boolean {
    return this.full;
  }

  output(data: Buffer): void {
    const text = this.decoder.write(data);
    if (text) this.event('o', text);
  }

  resize(cols: number, rows: number): void {
    this.event('r', `${cols}x${rows}`);
  }

  /** Flushes and closes the file; resolves once it is on disk. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    const rest = this.decoder.end();
    if (rest) this.event('o', rest);
    this.closed = true;
    return new Promise((resolve) => this.out.end(() => resolve()));
  }

  private event(code: 'o' | 'r' | 'm', data: string): void {
    if (this.full || this.closed) return;
    const t = Number(((performance.now() - this.started) / 1000).toFixed(6));
    const line = JSON.stringify([t, code, data]) + '\n';
    if (this.bytes + Buffer.byteLength(line) > this.options.maxBytes - 128) {
      this.full = true;
      this.line([t, 'm', `recording stopped: size limit of ${this.options.maxBytes} bytes reached`]);
      return;
    }
    this.write(line);
  }

  private line(value: unknown): void {
    this.write(JSON.stringify(value) + '\n');
  }

  private write(line: string): void {
    this.bytes += Buffer.byteLength(line);
    this.out.write(line);
  }
}
