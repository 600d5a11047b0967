import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';

/** Reads all of stdin (for --password-stdin); drops one trailing newline. */
export async function readAllStdin(stdin: NodeJS.ReadStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Asks a question on the terminal; `secret` hides what is typed (passwords). */
export async function ask(stdin: NodeJS.ReadStream, stderr: NodeJS.WriteStream, question: string, secret = false): Promise<string> {
  let muted = false;
  // The prompt is written to stderr; typed characters are echoed only when not secret.
  const output = new Writable({
    write(chunk, _enc, done) {
      if (!muted) stderr.write(chunk as Buffer);
      done();
    },
  });
  const rl = createInterface({ input: stdin, output, terminal: !!stdin.isTTY });
  try {
    return await new Promise<string>((resolve) => {
      rl.question(question, (answer) => resolve(answer));
      muted = secret;
    });
  } finally {
    rl.close();
    if (secret) stderr.write('\n');
  }
}
