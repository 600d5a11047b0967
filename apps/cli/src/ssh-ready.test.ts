import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { describe, test } from 'node:test';
import { sshBanner, waitForSsh } from './ssh-ready.js';

const listen = (greeting: string | null) =>
  new Promise<{ server: Server; port: number }>((resolve) => {
    const server = createServer((socket) => (greeting === null ? undefined : socket.end(greeting)));
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port }));
  });

describe('waiting for a guest SSH server', () => {
  test('an SSH greeting counts; another service, silence or a closed port do not', async () => {
    const ssh = await listen('SSH-2.0-dropbear\r\n');
    const http = await listen('HTTP/1.1 400 Bad Request\r\n\r\n');
    const silent = await listen(null);
    try {
      assert.equal(await sshBanner('127.0.0.1', ssh.port), true);
      assert.equal(await sshBanner('127.0.0.1', http.port), false);
      assert.equal(await sshBanner('127.0.0.1', silent.port, 200), false);
    } finally {
      for (const s of [ssh, http, silent]) s.server.close();
    }
    assert.equal(await sshBanner('127.0.0.1', ssh.port), false); // closed now: refused
  });

  test('waits for a server that comes up later, and gives up after the timeout', async () => {
    const later = await listen(null);
    const port = later.port;
    later.server.close();
    const late = createServer((s) => s.end('SSH-2.0-late\r\n'));
    setTimeout(() => late.listen(port, '127.0.0.1'), 300);
    assert.equal(await waitForSsh('127.0.0.1', port, 5000, 50), true);
    late.close();
    const closed = await listen(null);
    closed.server.close();
    assert.equal(await waitForSsh('127.0.0.1', closed.port, 200, 50), false);
  });
});
