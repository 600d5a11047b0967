import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { PassThrough } from 'node:stream';
import { after, before, beforeEach, describe, test } from 'node:test';
import { WebSocketServer, type WebSocket } from 'ws';
import { TERMINAL_WEBSOCKET_PATH } from '@twarga/contract';
import { attachConsole } from './attach.js';

/**
 * attachConsole against a small in-process server that speaks twarga.terminal.v1 (the real server
 * and a real VM are in tests/integration/cli-console.test.ts); here the paths that a real VM makes
 * slow or hard to reach: refusals, a dropped link, a piped stdin, what goes over the wire.
 */
type Behaviour = (ws: WebSocket, auth: { ticket: string }) => void;

describe('attachConsole (protocol paths)', () => {
  let server: Server;
  let wss: WebSocketServer;
  let base: string;
  let behaviour: Behaviour;
  let startStatus: number;
  let upgradeHeaders: IncomingMessage['headers'] | undefined;
  const starts: unknown[] = [];
  const received: { text: string[]; bytes: Buffer[] } = { text: [], bytes: [] };

  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        assert.equal(req.headers.authorization, 'Bearer tok');
        starts.push({ url: req.url, body: JSON.parse(body || '{}') });
        res.writeHead(startStatus, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify(
            startStatus === 201
              ? { ticket: 'tkt', expires_at: new Date().toISOString(), websocket_path: TERMINAL_WEBSOCKET_PATH, protocol: 'twarga.terminal.v1', vm_id: 7, kind: 'serial' }
              : { code: 'vm_not_running', message: 'the VM is not running', request_id: 'req-1' },
          ),
        );
      });
    });
    wss = new WebSocketServer({ server, path: TERMINAL_WEBSOCKET_PATH });
    wss.on('connection', (ws, req) => {
      upgradeHeaders = req.headers;
      ws.once('message', (data) => {
        const auth = JSON.parse(String(data)) as { type: string; ticket: string };
        assert.equal(auth.type, 'auth');
        ws.on('message', (d, isBinary) => (isBinary ? received.bytes.push(d as Buffer) : received.text.push(String(d))));
        behaviour(ws, auth);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(() => {
    wss.close();
    server.close();
  });
  beforeEach(() => {
    startStatus = 201;
    starts.length = 0;
    received.text.length = 0;
    received.bytes.length = 0;
  });

  const ready = (ws: WebSocket) => ws.send(JSON.stringify({ type: 'ready', session_id: 3, vm_id: 7, kind: 'serial', idle_timeout_seconds: 900, max_duration_seconds: 3600, scrollback_bytes: 0 }));
  const attach = (baseUrl = base) => {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (d) => (out += d));
    stderr.on('data', (d) => (err += d));
    const done = attachConsole({
      baseUrl, token: 'tok', vmId: 7, kind: 'serial',
      stdin: stdin as unknown as NodeJS.ReadStream, stdout: stdout as unknown as NodeJS.WriteStream, stderr: stderr as unknown as NodeJS.WriteStream,
    });
    return { stdin, done, out: () => out, err: () => err };
  };
  const waitFor = async (what: string, pred: () => boolean) => {
    const deadline = Date.now() + 5_000;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  test('bytes both ways; ~. after Enter detaches with 0 and closes the socket normally; no Origin header is sent', async () => {
    let closeCode: number | undefined;
    behaviour = (ws, auth) => {
      assert.equal(auth.ticket, 'tkt');
      ready(ws);
      ws.send(Buffer.from('login: '), { binary: true });
      ws.on('close', (code) => (closeCode = code));
    };
    const c = attach();
    await waitFor('output', () => c.out() === 'login: ');
    c.stdin.write('root\r');
    c.stdin.write('~');
    c.stdin.write('.');
    assert.equal(await c.done, 0);
    assert.deepEqual(starts, [{ url: '/api/terminal/start/7', body: { kind: 'serial' } }]);
    assert.equal(upgradeHeaders?.origin, undefined);
    assert.equal(Buffer.concat(received.bytes).toString(), 'root\r');
    await waitFor('close at the server', () => closeCode !== undefined);
    assert.equal(closeCode, 1000);
    assert.match(c.err(), /Connected to the serial console of VM 7 \(session 3\)[\s\S]*Detached\.\n$/);
  });

  test('the server ends the session: its reason is printed; exit 0 for an ordinary end', async () => {
    behaviour = (ws) => {
      ready(ws);
      ws.send(JSON.stringify({ type: 'exit', reason: 'idle_timeout', exit_code: null, message: 'no input or output for 900 s' }));
      ws.close(4408, 'idle_timeout');
    };
    const c = attach();
    assert.equal(await c.done, 0);
    assert.match(c.err(), /Session ended: no input or output for 900 s\. \(idle_timeout\)\n$/);
  });

  test('refused before ready (bad ticket): exit 1 with the server’s code', async () => {
    behaviour = (ws) => {
      ws.send(JSON.stringify({ type: 'error', code: 'ticket_expired', message: 'the ticket expired' }));
      ws.close(4401, 'ticket_expired');
    };
    const c = attach();
    assert.equal(await c.done, 1);
    assert.equal(c.err(), 'error: could not attach: the ticket expired (ticket_expired)\n');
  });

  test('the ticket request fails: the error body is printed, the CLI’s exit code for it (409 → 5), no websocket', async () => {
    startStatus = 409;
    const c = attach();
    assert.equal(await c.done, 5);
    assert.equal(c.err(), 'error: the VM is not running (vm_not_running, request req-1)\n');
  });

  test('a link that drops without a word: exit 1, "disconnected"', async () => {
    behaviour = (ws) => {
      ready(ws);
      setTimeout(() => ws.terminate(), 50);
    };
    const c = attach();
    assert.equal(await c.done, 1);
    assert.match(c.err(), /error: disconnected: the connection to the server was lost\n$/);
  });

  test('server unreachable: exit 7 with the cause', async () => {
    const c = attach('http://127.0.0.1:1');
    assert.equal(await c.done, 7);
    assert.match(c.err(), /^error: .*(unreachable|ECONNREFUSED|fetch failed)/);
  });

  test('piped stdin: ~ in the middle of a line goes through; EOF detaches with 0; ~~ sends one ~', async () => {
    behaviour = (ws) => ready(ws);
    const c = attach();
    await waitFor('attached', () => c.err().includes('Connected'));
    c.stdin.end('cd ~/x\r~~y\r');
    assert.equal(await c.done, 0);
    assert.equal(Buffer.concat(received.bytes).toString(), 'cd ~/x\r~y\r');
  });

  test('unknown control messages and a complaint about ours are ignored: output keeps flowing', async () => {
    behaviour = (ws) => {
      ready(ws);
      ws.send(JSON.stringify({ type: 'something-new' }));
      ws.send(JSON.stringify({ type: 'error', code: 'bad_message', message: 'unknown or malformed control message' }));
      ws.send(Buffer.from('still here'), { binary: true });
    };
    const c = attach();
    await waitFor('output', () => c.out() === 'still here');
    c.stdin.write('\r~.');
    assert.equal(await c.done, 0);
  });
});
